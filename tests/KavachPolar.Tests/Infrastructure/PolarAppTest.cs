using KavachPolar.Testing;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// An <see cref="AppTest"/> whose app talks to a <see cref="PolarEmulator"/> of its own, which delivers its webhooks to
/// the app unless the class turns that off.
/// </summary>
public abstract class PolarAppTest : AppTest
{
    protected PolarEmulator Polar { get; private set; } = null!;

    /// <summary>The emulator's endpoint for <see cref="AppTest.App"/>; null when <see cref="ReceivesWebhooks"/> is false.</summary>
    protected EmulatorWebhookEndpoint? WebhookEndpoint { get; private set; }

    /// <summary>The emulator's options: Polar's own unless a class shortens the retries, for one.</summary>
    protected virtual PolarEmulatorOptions EmulatorOptions() => new();

    /// <summary>Whether the emulator delivers webhooks to the app.</summary>
    protected virtual bool ReceivesWebhooks => true;

    protected override Task<KavachTestApp> StartAppAsync() => KavachTestApp.StartAsync(Db.ConnectionString, Polar);

    public override async ValueTask InitializeAsync()
    {
        Polar = await PolarEmulator.StartAsync(EmulatorOptions(), Ct);
        await base.InitializeAsync();
        if (ReceivesWebhooks)
        {
            WebhookEndpoint = Polar.AddWebhookEndpoint(App.WebhookUrl, KavachTestApp.DefaultSecret);
        }
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore();
        await Polar.DisposeAsync();
    }

    /// <summary>Polar's options but for the webhook retries: each comes 50 ms after the failed attempt instead of seconds to minutes.</summary>
    protected static PolarEmulatorOptions FastRetries()
    {
        var options = new PolarEmulatorOptions();
        options.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(50));
        return options;
    }
}
