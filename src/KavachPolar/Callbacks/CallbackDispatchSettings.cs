namespace KavachPolar.Callbacks;

/// <summary>How the dispatcher paces itself. One instance per app; tests register their own before start.</summary>
internal sealed class CallbackDispatchSettings
{
    /// <summary>
    /// How often the queue is polled for rows queued by other processes while their announcements cannot be heard (a
    /// pooler in transaction mode without <see cref="KavachPolarOptions.NotificationConnectionString"/>, a provider other
    /// than PostgreSQL and SQLite, the listener reconnecting); also the shortest wait for a retry this instance scheduled.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the queue is polled while announcements are heard (or on SQLite, which serves one process): the safety
    /// net for a row whose writer died between its commit and its announcement, and for the leases of a dead instance.
    /// Every other row wakes the dispatcher at once (this instance's commit, another process's announcement, a retry due).
    /// </summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a claim holds a row without renewal; renewed every third of it while the callback runs.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the dispatcher waits for one callback before it counts as failed (it keeps its lease until it ends).</summary>
    public TimeSpan CallbackTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Rows claimed at once; callbacks of one batch (each a different user) run in parallel.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>How often, at most, the queue's statistics are refreshed while a backlog lasts.</summary>
    public TimeSpan AnalyzeEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The most rows claimed at once while a backlog of callbacks that end in time lasts.</summary>
    public int MaxBatchSize { get; init; } = 512;

    public int MaxParallelCallbacks { get; init; } = 8;

    /// <summary>How long a batch waits for its slowest callbacks before settling the others (those settle on their own).</summary>
    public TimeSpan SlowCallbackAfter { get; init; } = TimeSpan.FromSeconds(5);
}
