namespace KavachPolar.Sample.Hosting;

/// <summary>The sample's log messages.</summary>
internal static partial class SampleLog
{
    [LoggerMessage(1, LogLevel.Information, """

          KavachPolar sample: LOCAL POLAR EMULATOR mode (no Polar account needed)
            Open      {Url}
            Polar     emulator at {PolarUrl}, demo products; any card works
            Webhooks  {WebhookUrl} (signed with a secret generated for this run)
            Database  {Database} (recreated at start: the emulator keeps no state between runs)
          Set KavachPolar:AccessToken and KavachPolar:WebhookSecret to use Polar's sandbox instead.

        """)]
    public static partial void StartedWithEmulator(ILogger logger, string url, Uri polarUrl, Uri webhookUrl, string database);

    [LoggerMessage(2, LogLevel.Information, """

          KavachPolar sample: REAL POLAR mode
            Open      {Url}
            Polar     {Polar}
            Webhooks  point your Polar webhook endpoint at https://<public host>/{WebhookPath} (a tunnel on a dev machine)
            Database  {Database}

        """)]
    public static partial void StartedWithPolar(ILogger logger, string url, string polar, string webhookPath, string database);

    [LoggerMessage(3, LogLevel.Information, "Subscription of {UserId} changed by {EventType} ({EventId}): {Previous} -> {Current}")]
    public static partial void SubscriptionChanged(ILogger logger, string userId, string eventType, string eventId, string previous, string current);

    [LoggerMessage(4, LogLevel.Warning, "Could not list products from Polar at {ApiBase}")]
    public static partial void ProductListFailed(ILogger logger, Exception exception, Uri apiBase);

    [LoggerMessage(5, LogLevel.Warning, "The local Polar emulator starts empty on every run, but this PostgreSQL database keeps users bound to customers of earlier runs, whose checkouts the emulator will refuse. Use a fresh database with the emulator, or configure KavachPolar:AccessToken for Polar's sandbox.")]
    public static partial void EmulatorWithPersistentDatabase(ILogger logger);
}
