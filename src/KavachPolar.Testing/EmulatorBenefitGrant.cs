namespace KavachPolar.Testing;

/// <summary>A benefit grant as the emulator holds it now: what Polar's <c>GET /v1/benefit-grants/</c> would list.</summary>
/// <param name="Id">The grant id, stable across revoke and re-grant.</param>
/// <param name="BenefitId">The benefit granted.</param>
/// <param name="CustomerId">The (billing) customer.</param>
/// <param name="MemberId">The customer's owner member in member-model organizations, else <see langword="null"/>.</param>
/// <param name="SubscriptionId">The subscription the grant comes from, or <see langword="null"/>.</param>
/// <param name="OrderId">The one-time order the grant comes from, or <see langword="null"/>.</param>
/// <param name="IsGranted">Whether the benefit is granted through this grant.</param>
/// <param name="IsRevoked">Whether this grant was revoked (a failed grant is neither granted nor revoked).</param>
/// <param name="Error">The failure's message, e.g. "The customer needs to connect their Discord account".</param>
public sealed record EmulatorBenefitGrant(string Id, string BenefitId, string CustomerId, string? MemberId, string? SubscriptionId, string? OrderId,
    bool IsGranted, bool IsRevoked, string? Error);
