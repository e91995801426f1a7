using System.Text.Json;

namespace KavachPolar;

/// <summary>One granted Polar grant through which a user holds a <see cref="KavachBenefit"/>.</summary>
public sealed record KavachBenefitGrant
{
    /// <summary>Polar's grant id (stable across revoke and re-grant).</summary>
    public required string GrantId { get; init; }

    /// <summary>When Polar granted it.</summary>
    public DateTimeOffset GrantedAt { get; init; }

    /// <summary>The subscription the grant comes from, or <see langword="null"/>.</summary>
    public string? SubscriptionId { get; init; }

    /// <summary>The one-time order the grant comes from, or <see langword="null"/>.</summary>
    public string? OrderId { get; init; }

    /// <summary>
    /// Polar's grant <c>properties</c> (a cloned element; e.g. a license key's <c>license_key_id</c> and masked
    /// <c>display_key</c>, a Discord grant's <c>account_id</c>). Compare with <see cref="JsonElement.DeepEquals"/>.
    /// </summary>
    public JsonElement Properties { get; init; }
}
