namespace KavachPolar.Storage;

/// <summary>
/// One usage event recorded by <see cref="IKavachPolarUsage.RecordAsync"/> (<c>kavach_polar_usage_events</c>): written
/// with the app's work, claimed by the sender under a lease, marked accepted once Polar's ingest took it (and deleted
/// hours later), or quarantined with Polar's error when Polar's validation refused it.
/// </summary>
internal sealed class UsageEventRecord
{
    public long Id { get; set; }

    /// <summary>The app's user id, sent as <c>external_customer_id</c>.</summary>
    public required string UserId { get; set; }

    public required string Name { get; set; }

    /// <summary>Polar's idempotency key: the caller's, or one generated at record time. Unique.</summary>
    public required string ExternalId { get; set; }

    /// <summary>The metadata as JSON (an object), sent as written.</summary>
    public required string Metadata { get; set; }

    /// <summary>The event's time (the caller's, or the record time), in microseconds since the Unix epoch.</summary>
    public long TimestampUs { get; set; }

    public DateTimeOffset RecordedAt { get; set; }

    public int Attempts { get; set; }

    /// <summary>When the sender may take it next (this instance's clock on other providers, PostgreSQL's on PostgreSQL).</summary>
    public long NextAttemptAtUs { get; set; }

    public long? LockedUntilUs { get; set; }

    public string? LockOwner { get; set; }

    /// <summary>Why the last attempt failed, or Polar's validation error of a quarantined event.</summary>
    public string? LastError { get; set; }

    /// <summary>Set when Polar's validation refused the event: it is not sent again until replayed.</summary>
    public DateTimeOffset? QuarantinedAt { get; set; }

    /// <summary>
    /// When Polar's ingest accepted it (inserted or a duplicate), in Unix microseconds on this instance's clock; the row
    /// is kept a few hours for the pending figures.
    /// </summary>
    public long? AcceptedAtUs { get; set; }
}
