using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed class OrderRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public required string Status { get; set; }
    public required long Subtotal { get; init; }
    public required string Currency { get; init; }
    public required string BillingReason { get; init; }
    public string? BillingName { get; init; }
    public JsonObject? BillingAddress { get; init; }
    public required string InvoiceNumber { get; init; }
    public required string CustomerId { get; init; }
    public required string ProductId { get; init; }
    public required string SubscriptionId { get; init; }
    public string? CheckoutId { get; init; }
    public JsonObject Metadata { get; init; } = [];
    public required string ItemId { get; init; }
    public required DateTimeOffset PeriodStart { get; init; }
    public required DateTimeOffset PeriodEnd { get; init; }

    /// <summary>When the next dunning retry of a pending order is due.</summary>
    public DateTimeOffset? NextPaymentAttemptAt { get; set; }
}
