namespace KavachPolar;

/// <summary>
/// A benefit the user holds: one entry per benefit, however many grants hold it (one per subscription or order).
/// Returned by <see cref="IKavachPolarEntitlements.GetBenefitsAsync"/> and <c>GET {base}/auth/polar/benefits</c>. A
/// plain record with <see langword="init"/> properties: fields added later are optional properties.
/// </summary>
public sealed record KavachBenefit
{
    /// <summary>Polar's benefit id.</summary>
    public required string BenefitId { get; init; }

    /// <summary>Polar's benefit type string: <c>custom</c>, <c>feature_flag</c>, <c>license_keys</c>, <c>downloadables</c>, <c>discord</c>, <c>github_repository</c>, <c>meter_credit</c>, ...</summary>
    public required string Type { get; init; }

    /// <summary>The benefit's description as Polar last sent it.</summary>
    public string? Description { get; init; }

    /// <summary>When the earliest of its granted grants was granted.</summary>
    public DateTimeOffset GrantedAt { get; init; }

    /// <summary>The granted grants that hold it, oldest first (at least one).</summary>
    public required IReadOnlyList<KavachBenefitGrant> Grants { get; init; }
}
