using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace KavachPolar.Sample.Hosting;

/// <summary>
/// The local Polar the sample uses when no <c>KavachPolar:AccessToken</c> is configured: the emulator from
/// <c>KavachPolar.Testing</c>, in-process on a free loopback port, with its demo products. Once the sample's
/// own server listens, the emulator gets a webhook endpoint pointing at the sample's webhook route. Pro and Team include
/// <see cref="AiTokenCredits"/> AI tokens a period (the emulator's demo meter-credit benefit), so the account page's
/// usage bar shows credits and a balance.
/// </summary>
internal sealed class EmbeddedPolar : IAsyncDisposable
{
    private EmbeddedPolar(PolarEmulator emulator, string webhookSecret)
    {
        Emulator = emulator;
        WebhookSecret = webhookSecret;
    }

    /// <summary>The AI tokens Pro and Team include each billing period (a <c>meter_credit</c> benefit of the demo meter).</summary>
    public const int AiTokenCredits = 1000;

    public PolarEmulator Emulator { get; }

    /// <summary>A fresh secret per run, shared by the emulator's endpoint and the sample's options.</summary>
    public string WebhookSecret { get; }

    public static async Task<EmbeddedPolar> StartAsync(CancellationToken cancellationToken = default)
    {
        var emulator = await PolarEmulator.StartAsync(new PolarEmulatorOptions { DemoMeterCredits = AiTokenCredits }, cancellationToken);
        return new EmbeddedPolar(emulator, PolarWebhookSigner.CreateStandardSecret());
    }

    /// <summary>The settings that point KavachPolar (and the sample's product catalog) at the emulator.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("KavachPolar:ApiBaseUrl", Emulator.BaseUrl.AbsoluteUri),
        new("KavachPolar:AccessToken", Emulator.AccessToken),
        new("KavachPolar:WebhookSecret", WebhookSecret),
        new("KavachPolar:OrganizationId", Emulator.OrganizationId),
    ];

    /// <summary>
    /// Registers the sample's webhook route with the emulator, at the first address the sample listens on
    /// (a wildcard host becomes 127.0.0.1, where the emulator can reach it).
    /// </summary>
    public Uri RegisterWebhookEndpoint(IServer server, string webhookPath)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The sample's server reports no address to send webhooks to.");
        var url = new Uri(LoopbackFor(address), webhookPath);
        Emulator.AddWebhookEndpoint(url, WebhookSecret, PolarWebhookSigningMode.Standard);
        return url;
    }

    /// <summary>Turns a listening address such as <c>http://0.0.0.0:5080</c> or <c>http://[::]:5080</c> into a reachable one.</summary>
    internal static Uri LoopbackFor(string address)
    {
        var normalized = address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        return new Uri(normalized.TrimEnd('/') + "/");
    }

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}
