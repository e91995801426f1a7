namespace KavachPolar.Usage;

/// <summary>How the usage sender paces itself. One instance per app; tests register their own before start.</summary>
internal sealed class UsageSendSettings
{
    /// <summary>How often the queue is polled for events recorded by other instances, due for retry, or committed unseen.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an idle sender waits for a commit's signal before looking at the queue again (quietly, on PostgreSQL):
    /// events another instance recorded and did not send (it stopped) are found by then.
    /// </summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a claim holds events without renewal. The sender renews it every quarter of this while it sends (a batch
    /// can take several requests, each up to Polar's call timeout), so this bounds only how long the events of an
    /// instance that died mid-batch wait before another instance claims them.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Events claimed at once; sent in as few requests as fit under Polar's 10 MiB body limit.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>The largest body sent (Polar refuses more than 10 MiB with 413).</summary>
    public int MaxBodyBytes { get; init; } = Services.UsageEvents.MaxBodyBytes;

    /// <summary>The longest wait between attempts after Polar failed (5xx, unreachable); doubles from 1 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long events Polar accepted are kept, counted as pending until Polar's meter was computed after them: Polar
    /// recomputes at most 180 minutes after ingestion.
    /// </summary>
    public TimeSpan KeepAccepted { get; init; } = TimeSpan.FromHours(4);

    /// <summary>How long <see cref="IKavachPolarUsage.GetMeterAsync"/> serves Polar's customer meter from memory.</summary>
    public TimeSpan MeterCacheFor { get; init; } = TimeSpan.FromSeconds(5);
}
