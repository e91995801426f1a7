namespace KavachPolar.Storage;

/// <summary>
/// One Polar subscription as last seen (<c>kavach_polar_subscriptions</c>). Kept per subscription so
/// that a user with several subscriptions, or a revoke of an old one, projects correctly, and so that
/// an older snapshot never overwrites a newer one.
/// </summary>
internal sealed class SubscriptionRecord
{
    public required string Id { get; set; }

    /// <summary>The linked application user, or null until the user becomes known.</summary>
    public string? UserId { get; set; }

    public required string CustomerId { get; set; }

    public string? CustomerExternalId { get; set; }

    public string? MetadataUserId { get; set; }

    public required string Status { get; set; }

    public required string ProductId { get; set; }

    public DateTimeOffset? CurrentPeriodEnd { get; set; }

    public bool CancelAtPeriodEnd { get; set; }

    /// <summary>The product of Polar's <c>pending_update</c> (a <c>next_period</c> plan change), or null.</summary>
    public string? ScheduledProductId { get; set; }

    /// <summary>When that pending update applies (<c>pending_update.applies_at</c>).</summary>
    public DateTimeOffset? ScheduledChangeAt { get; set; }

    /// <summary>Polar's <c>created_at</c> in Unix microseconds: orders "most recent" among equals.</summary>
    public long CreatedAtUs { get; set; }

    /// <summary>The snapshot's version, <c>modified_at ?? created_at</c> in Unix microseconds.</summary>
    public long VersionUs { get; set; }

    /// <summary>
    /// The envelope timestamp of the event that wrote this snapshot (Unix microseconds), breaking
    /// ties between snapshots of equal version.
    /// </summary>
    public long SourceTimestampUs { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
