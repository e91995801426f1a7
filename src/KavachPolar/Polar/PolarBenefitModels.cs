using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Polar;

// Polar's benefit wire models: only the fields KavachPolar reads. Shapes: REFERENCE.md §9.2 (BenefitGrant, the same in
// GET /v1/benefit-grants/ and in benefit_grant.* webhooks) and §9.7 (customer state). The webhook union has no
// top-level discriminator and the per-type properties are all optional, so properties are kept as raw JSON.

/// <summary>
/// A <c>BenefitGrant</c>. One row per (customer, benefit, member, subscription, order) at Polar, reused across revoke
/// and re-grant; <c>modified_at</c> is null after the insert (the usual first <c>benefit_grant.created</c>).
/// </summary>
internal sealed record PolarBenefitGrant(
    string Id,
    DateTimeOffset CreatedAt,
    string CustomerId,
    string BenefitId,
    DateTimeOffset? ModifiedAt = null,
    DateTimeOffset? GrantedAt = null,
    DateTimeOffset? RevokedAt = null,
    string? SubscriptionId = null,
    string? OrderId = null,
    string? MemberId = null,
    PolarBenefitGrantError? Error = null,
    PolarCustomer? Customer = null,
    PolarBenefit? Benefit = null,
    JsonElement? Properties = null);

/// <summary>A grant's <c>error</c>: set when the grant failed, usually <c>BenefitActionRequiredError</c>.</summary>
internal sealed record PolarBenefitGrantError(string? Message = null, string? Type = null);

/// <summary>The grant's <c>benefit</c>: its id, Polar's type string and description.</summary>
internal sealed record PolarBenefit(string Id, string Type, string? Description = null);

/// <summary>A <c>benefit_grant.*</c> event's envelope with its <c>data</c>.</summary>
internal sealed record PolarBenefitGrantEvent(string Type, DateTimeOffset? Timestamp = null, PolarBenefitGrant? Data = null);

/// <summary>One page of <c>GET /v1/benefit-grants/</c>.</summary>
internal sealed record PolarBenefitGrantList(List<PolarBenefitGrant> Items, PolarPagination Pagination);

/// <summary>
/// <c>customer.state_changed</c>'s <c>data</c>, as far as KavachPolar reads it: the customer and the benefit ids of
/// its granted grants (no subscription, order or member ids: §9.7), a trigger to reconcile, never applied as such.
/// </summary>
internal sealed record PolarCustomerState(string Id, string? ExternalId = null, string? OrganizationId = null, List<PolarCustomerStateGrant>? GrantedBenefits = null);

/// <summary>One of <c>granted_benefits</c>.</summary>
internal sealed record PolarCustomerStateGrant(string Id, string BenefitId);

/// <summary>A <c>customer.state_changed</c> event's envelope with its <c>data</c>.</summary>
internal sealed record PolarCustomerStateEvent(string Type, DateTimeOffset? Timestamp = null, PolarCustomerState? Data = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PolarBenefitGrant))]
[JsonSerializable(typeof(PolarBenefitGrantEvent))]
[JsonSerializable(typeof(PolarBenefitGrantList))]
[JsonSerializable(typeof(PolarCustomerState))]
[JsonSerializable(typeof(PolarCustomerStateEvent))]
internal sealed partial class PolarBenefitJsonContext : JsonSerializerContext;
