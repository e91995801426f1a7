namespace KavachPolar.Storage;

/// <summary>
/// One Polar benefit grant as last seen (<c>kavach_polar_benefit_grants</c>), kept per grant because a user may hold
/// one benefit through several grants (one per subscription or order): access is any grant granted. A failed grant
/// (<see cref="ErrorType"/> set, not granted) is kept and visible, never counted as held.
/// </summary>
internal sealed class BenefitGrantRecord
{
    public required string Id { get; set; }

    /// <summary>
    /// The application user: the user of <see cref="SubscriptionId"/>'s row for a subscription-scoped grant (null until
    /// that subscription is stored and attributed); else the customer's external id, then the user bound to the customer.
    /// </summary>
    public string? UserId { get; set; }

    public required string CustomerId { get; set; }

    /// <summary>Polar's member (every grant of a member-model organization carries the owner member).</summary>
    public string? MemberId { get; set; }

    public required string BenefitId { get; set; }

    /// <summary>Polar's benefit type string (<c>license_keys</c>, <c>feature_flag</c>, ...).</summary>
    public required string BenefitType { get; set; }

    public string? BenefitDescription { get; set; }

    public string? SubscriptionId { get; set; }

    public string? OrderId { get; set; }

    /// <summary>Set while granted; null when revoked or failed.</summary>
    public DateTimeOffset? GrantedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The error's type when the grant failed (usually <c>BenefitActionRequiredError</c>).</summary>
    public string? ErrorType { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>The grant's <c>properties</c> as Polar sent them (JSON text), e.g. a license key's masked <c>display_key</c>.</summary>
    public required string Properties { get; set; }

    /// <summary>Polar's <c>created_at</c> in Unix microseconds.</summary>
    public long CreatedAtUs { get; set; }

    /// <summary>The grant's version, <c>modified_at ?? created_at</c> in Unix microseconds.</summary>
    public long VersionUs { get; set; }

    /// <summary>The envelope timestamp of the event that wrote this grant (Unix microseconds): breaks ties of equal version.</summary>
    public long SourceTimestampUs { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
