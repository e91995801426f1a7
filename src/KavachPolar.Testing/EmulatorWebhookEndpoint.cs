using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Testing;

/// <summary>A webhook endpoint registered with the emulator.</summary>
public sealed class EmulatorWebhookEndpoint
{
    internal EmulatorWebhookEndpoint(string id, Uri url, string secret, PolarWebhookSigningMode mode, IReadOnlySet<string>? events)
    {
        Id = id;
        Url = url;
        Secret = secret;
        Mode = mode;
        Events = events;
        Signer = new PolarWebhookSigner(secret, mode);
    }

    /// <summary>The endpoint id (UUID version 4).</summary>
    public string Id { get; }

    /// <summary>Where events are POSTed.</summary>
    public Uri Url { get; }

    /// <summary>The signing secret.</summary>
    public string Secret { get; }

    /// <summary>How the secret becomes the HMAC key.</summary>
    public PolarWebhookSigningMode Mode { get; }

    /// <summary>The event types this endpoint receives; <see langword="null"/> means all.</summary>
    public IReadOnlySet<string>? Events { get; }

    /// <summary>
    /// Whether the endpoint receives events. Polar disables an endpoint when an event fails for good and its 10 most
    /// recent completed events all failed; a disabled endpoint's events are skipped at every attempt.
    /// <see cref="PolarEmulator.EnableWebhookEndpoint"/> re-enables it.
    /// </summary>
    public bool Enabled { get; internal set; } = true;

    internal PolarWebhookSigner Signer { get; }

    /// <summary>When it was registered (the business clock), as <c>created_at</c> in Polar's listing.</summary>
    internal DateTimeOffset CreatedAt { get; init; }

    /// <summary>When Polar last changed it (here: enabled or disabled), as <c>modified_at</c>.</summary>
    internal DateTimeOffset? ModifiedAt { get; set; }

    internal bool Receives(string type) => Events is null || Events.Contains(type);
}
