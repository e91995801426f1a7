using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Endpoints;

internal sealed record CheckoutRequest(string? ProductId, string? SuccessUrl);

internal sealed record CheckoutResponse(string Url, string Id);

internal sealed record WebhookAck(string Outcome);

internal sealed record ReconcileRequest(string? CheckoutId);

internal sealed record ChangePlanRequest(string? ProductId, string? Proration);

internal sealed record PortalResponse(string Url);

/// <summary>KavachPolar's own JSON: camelCase, as the HTTP contract says.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(CheckoutRequest))]
[JsonSerializable(typeof(CheckoutResponse))]
[JsonSerializable(typeof(SubscriptionResponse))]
[JsonSerializable(typeof(BenefitsResponse))]
[JsonSerializable(typeof(OrdersResponse))]
[JsonSerializable(typeof(InvoiceResponse))]
[JsonSerializable(typeof(KavachSubscription))]
[JsonSerializable(typeof(ReconcileRequest))]
[JsonSerializable(typeof(ChangePlanRequest))]
[JsonSerializable(typeof(PortalResponse))]
[JsonSerializable(typeof(WebhookAck))]
internal sealed partial class KavachJsonContext : JsonSerializerContext;
