using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Polar;

// Polar's wire models: only the fields KavachPolar reads or sends. Polar adds fields over time and emits null
// explicitly; unknown fields are ignored, and a field is required here only when KavachPolar cannot work without
// it. Shapes: https://docs.polar.sh/api-reference (Checkout, Subscription, Customer) and the webhook envelope
// {"type","timestamp","data"}.

internal sealed record PolarCustomer(
    string Id,
    string? ExternalId = null,
    string? Email = null,
    string? Name = null,
    string? OrganizationId = null,
    DateTimeOffset? DeletedAt = null);

internal sealed record PolarSubscription(
    string Id,
    DateTimeOffset CreatedAt,
    string Status,
    bool CancelAtPeriodEnd,
    string CustomerId,
    string ProductId,
    DateTimeOffset? ModifiedAt = null,
    DateTimeOffset? CurrentPeriodEnd = null,
    string? CheckoutId = null,
    Dictionary<string, JsonElement>? Metadata = null,
    PolarCustomer? Customer = null,
    PolarPendingUpdate? PendingUpdate = null);

/// <summary>
/// <c>PendingSubscriptionUpdate</c>: a change Polar applies at <c>applies_at</c> (the period's end), made with
/// <c>proration_behavior: next_period</c>. <c>product_id</c> is null when only seats or units change.
/// </summary>
internal sealed record PolarPendingUpdate(DateTimeOffset AppliesAt, string? ProductId = null);

/// <summary>A <c>subscription.*</c> event's envelope with its <c>data</c>, read in one pass.</summary>
internal sealed record PolarSubscriptionEvent(string Type, DateTimeOffset? Timestamp = null, PolarSubscription? Data = null);

internal sealed record PolarCheckout(
    string Id,
    string Url,
    string? Status = null,
    string? CustomerId = null,
    string? ExternalCustomerId = null,
    Dictionary<string, JsonElement>? Metadata = null);

internal sealed record PolarCustomerList(List<PolarCustomer> Items, PolarPagination Pagination);

internal sealed record PolarPagination(int TotalCount, int MaxPage);

internal sealed record PolarSubscriptionList(List<PolarSubscription> Items, PolarPagination Pagination);

internal sealed record PolarValidationErrorItem(JsonElement[]? Loc = null, string? Msg = null, string? Type = null);

/// <summary>Polar's error bodies: <c>{"error","detail"}</c> or the OAuth <c>{"error","error_description"}</c>.</summary>
internal sealed record PolarErrorBody(string? Error = null, JsonElement Detail = default, string? ErrorDescription = null);

/// <summary>
/// <c>POST /v1/checkouts/</c>: always with the customer this server chose. Without <c>customer_id</c>, Polar's
/// confirmation reuses whichever customer owns the email the payer types on the checkout page.
/// </summary>
internal sealed record PolarCheckoutCreate(
    IReadOnlyList<string> Products,
    string CustomerId,
    string? CustomerIpAddress,
    string? SuccessUrl,
    IReadOnlyDictionary<string, string> Metadata);

internal sealed record PolarCustomerCreate(
    string Email,
    string? Name,
    string ExternalId,
    IReadOnlyDictionary<string, string> Metadata);

internal sealed record PolarSubscriptionCancel(bool CancelAtPeriodEnd);

/// <summary>The <c>SubscriptionUpdateBase</c> variant of <c>PATCH /v1/subscriptions/{id}</c>: exactly these two keys.</summary>
internal sealed record PolarSubscriptionProductUpdate(string ProductId, string ProrationBehavior);

/// <summary><c>SubscriptionUpdateClear</c>: <c>{"pending_update": null}</c>, the null written despite the context's default.</summary>
internal sealed record PolarSubscriptionUpdateClear([property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] object? PendingUpdate = null);

internal sealed record PolarCustomerSessionCreate(string CustomerId, string? ReturnUrl);

internal sealed record PolarCustomerSession(string Id, string CustomerPortalUrl);

/// <summary>The organization as <c>GET /v1/organizations/{id}</c> returns it: only its identity.</summary>
internal sealed record PolarOrganization(string Id, string? Name = null, string? Slug = null);

/// <summary>
/// One of the organization's webhook endpoints (<c>GET /v1/webhooks/endpoints</c>). <see cref="Secret"/> is the signing
/// secret in clear: compared with the configured ones, never logged.
/// </summary>
internal sealed record PolarWebhookEndpoint(
    string Id,
    string Url,
    string Secret,
    List<string> Events,
    bool Enabled,
    string? Format = null,
    string? OrganizationId = null);

internal sealed record PolarWebhookEndpointList(List<PolarWebhookEndpoint> Items, PolarPagination Pagination);

/// <summary>A list read only to learn whether the token may read it (<c>limit=1</c>), and whose organization its items belong to.</summary>
internal sealed record PolarProbeList(List<PolarProbeItem> Items);

internal sealed record PolarProbeItem(string? OrganizationId = null);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PolarCustomer))]
[JsonSerializable(typeof(PolarSubscription))]
[JsonSerializable(typeof(PolarSubscriptionEvent))]
[JsonSerializable(typeof(PolarCheckout))]
[JsonSerializable(typeof(PolarSubscriptionList))]
[JsonSerializable(typeof(PolarCustomerList))]
[JsonSerializable(typeof(PolarErrorBody))]
[JsonSerializable(typeof(PolarValidationErrorItem[]))]
[JsonSerializable(typeof(PolarCheckoutCreate))]
[JsonSerializable(typeof(PolarCustomerCreate))]
[JsonSerializable(typeof(PolarSubscriptionCancel))]
[JsonSerializable(typeof(PolarSubscriptionProductUpdate))]
[JsonSerializable(typeof(PolarSubscriptionUpdateClear))]
[JsonSerializable(typeof(PolarCustomerSessionCreate))]
[JsonSerializable(typeof(PolarCustomerSession))]
[JsonSerializable(typeof(PolarOrganization))]
[JsonSerializable(typeof(PolarWebhookEndpointList))]
[JsonSerializable(typeof(PolarProbeList))]
internal sealed partial class PolarJsonContext : JsonSerializerContext;
