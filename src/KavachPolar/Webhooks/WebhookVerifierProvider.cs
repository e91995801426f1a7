using Microsoft.Extensions.Options;

namespace KavachPolar.Webhooks;

/// <summary>
/// Holds the verifier for the current secrets. Keys are derived once per configuration, and a
/// configuration reload (secret rotation) swaps in a new verifier without a restart.
/// </summary>
internal sealed class WebhookVerifierProvider : IDisposable
{
    private readonly TimeProvider _time;
    private readonly IDisposable? _subscription;
    private volatile PolarWebhookVerifier _current;

    public WebhookVerifierProvider(IOptionsMonitor<KavachPolarOptions> options, TimeProvider time)
    {
        _time = time;
        _current = Create(options.CurrentValue);
        _subscription = options.OnChange(o => _current = Create(o));
    }

    public PolarWebhookVerifier Current => _current;

    private PolarWebhookVerifier Create(KavachPolarOptions o) =>
        new([o.WebhookSecret, .. o.WebhookSecrets.Where(s => !string.IsNullOrEmpty(s) && s != o.WebhookSecret)], o.WebhookTolerance, _time);

    public void Dispose() => _subscription?.Dispose();
}
