using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Polar;

// Polar's order wire models: only the fields KavachPolar reads. Shapes: REFERENCE.md §9.8 (Order, the same in
// GET /v1/orders/ and in order.* webhooks), the product (GET /v1/products/{id}) and the invoice (GET /v1/orders/{id}/invoice).

/// <summary>
/// An <c>Order</c>. Amounts are integers in the currency's minor unit; <c>refunded_amount</c> is net of tax. A one-time
/// purchase has no <c>subscription_id</c> and <c>billing_reason</c> <c>purchase</c>. <c>metadata</c> is the checkout's
/// (or, for a subscription's orders, the subscription's): it carries <c>kavach_user_id</c>.
/// </summary>
internal sealed record PolarOrder(
    string Id,
    DateTimeOffset CreatedAt,
    string Status,
    string CustomerId,
    string BillingReason,
    long NetAmount,
    long TaxAmount,
    long TotalAmount,
    long RefundedAmount,
    string Currency,
    DateTimeOffset? ModifiedAt = null,
    long RefundedTaxAmount = 0,
    string? ProductId = null,
    string? SubscriptionId = null,
    string? CheckoutId = null,
    Dictionary<string, JsonElement>? Metadata = null,
    PolarCustomer? Customer = null);

/// <summary>One page of <c>GET /v1/orders/</c>.</summary>
internal sealed record PolarOrderList(List<PolarOrder> Items, PolarPagination Pagination);

/// <summary>An <c>order.*</c> event's envelope with its <c>data</c>.</summary>
internal sealed record PolarOrderEvent(string Type, DateTimeOffset? Timestamp = null, PolarOrder? Data = null);

/// <summary>A product as far as checkout needs it: whether it is sold as a subscription (<c>is_recurring</c>).</summary>
internal sealed record PolarProduct(string Id, bool IsRecurring);

/// <summary><c>GET /v1/orders/{id}/invoice</c>: the generated invoice's URL.</summary>
internal sealed record PolarInvoice(string Url);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PolarOrder))]
[JsonSerializable(typeof(PolarOrderList))]
[JsonSerializable(typeof(PolarOrderEvent))]
[JsonSerializable(typeof(PolarProduct))]
[JsonSerializable(typeof(PolarInvoice))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class PolarOrderJsonContext : JsonSerializerContext;
