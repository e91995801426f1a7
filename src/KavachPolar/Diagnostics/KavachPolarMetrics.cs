using System.Diagnostics.Metrics;

namespace KavachPolar.Diagnostics;

/// <summary>
/// KavachPolar's counters, on the meter <c>KavachPolar</c> that the host's <see cref="IMeterFactory"/> creates (so a
/// listener can tell two hosts in one process apart, as <c>MetricCollector</c> does with the factory as scope).
/// </summary>
internal sealed class KavachPolarMetrics
{
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _callbacks;
    private readonly Counter<long> _checkouts;
    private readonly Counter<long> _announcements;
    private readonly Meter _meter;

    public KavachPolarMetrics(IMeterFactory meters)
    {
        var meter = _meter = meters.Create(KavachPolarTelemetry.Name);
        _announcements = meter.CreateCounter<long>("kavach_polar.announcements", "{announcement}", "Announcements of changes to other instances' caches, by result.");
        _webhooks = meter.CreateCounter<long>("kavach_polar.webhooks", "{delivery}", "Webhook deliveries received, by outcome.");
        _callbacks = meter.CreateCounter<long>("kavach_polar.callbacks", "{call}", "OnSubscriptionChange invocations, by result.");
        _checkouts = meter.CreateCounter<long>("kavach_polar.checkouts", "{request}", "Checkout requests, by result.");
    }

    /// <summary>A webhook delivery by <c>outcome</c> (applied, stale, duplicate, ignored, ..., refused, unavailable).</summary>
    public void CountWebhook(string outcome) => _webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A run of the host's change handlers by <c>result</c> (succeeded, failed).</summary>
    public void CountCallback(bool succeeded) => _callbacks.Add(1, new KeyValuePair<string, object?>("result", succeeded ? "succeeded" : "failed"));

    /// <summary>An announcement to other instances' caches by <c>result</c> (sent, failed).</summary>
    public void CountAnnouncement(bool sent) => _announcements.Add(1, new KeyValuePair<string, object?>("result", sent ? "sent" : "failed"));

    /// <summary>Reports, as <c>kavach_polar.announcements.waiting</c>, how many users wait to be announced.</summary>
    public void ObserveAnnouncementsWaiting(Func<int> waiting) =>
        _meter.CreateObservableGauge("kavach_polar.announcements.waiting", waiting, "{user}", "Users whose change other instances have not been told of yet.");

    /// <summary>
    /// Reports, as <c>kavach_polar.webhooks.since_last_verified</c> (seconds), how long ago the last webhook delivery
    /// whose signature verified arrived; nothing before one is known.
    /// </summary>
    public void ObserveSinceLastVerifiedDelivery(Func<double?> seconds) =>
        _meter.CreateObservableGauge(
            "kavach_polar.webhooks.since_last_verified",
            () => seconds() is { } s ? [new Measurement<double>(s)] : Array.Empty<Measurement<double>>(),
            "s",
            "Time since the last webhook delivery whose signature verified.");

    /// <summary>A checkout request by <c>result</c>: <c>created</c>, or the error code it was refused with.</summary>
    public void CountCheckout(string result) => _checkouts.Add(1, new KeyValuePair<string, object?>("result", result));
}
