using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>
/// One of Polar's orders (<c>models/order.py</c>): a one-time purchase (no subscription) or a subscription's order. The
/// emulator charges no tax and applies no discount or balance, so <c>net_amount</c> is the subtotal and the tax amounts
/// stay 0.
/// </summary>
internal sealed class OrderRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public required string Status { get; set; }
    public required string Currency { get; init; }

    /// <summary>The public <c>billing_reason</c>.</summary>
    public required string BillingReason { get; init; }
    public string? BillingName { get; set; }
    public JsonObject? BillingAddress { get; set; }
    public required string InvoiceNumber { get; init; }
    public required string CustomerId { get; init; }
    public required string ProductId { get; init; }

    /// <summary>Null for a one-time purchase.</summary>
    public string? SubscriptionId { get; init; }
    public string? CheckoutId { get; init; }
    public JsonObject Metadata { get; init; } = [];
    public required IReadOnlyList<OrderItemRecord> Items { get; init; }

    /// <summary>The sum of the items: before discounts and taxes (negative for a plan change's credit).</summary>
    public long Subtotal => Items.Sum(i => i.Amount);

    /// <summary><c>net_amount</c>: no discounts in the emulator.</summary>
    public long NetAmount => Subtotal;

    public long RefundedAmount { get; set; }
    public long RefundedTaxAmount { get; set; }

    /// <summary><c>Order.refundable_amount</c>: <c>max(0, net_amount + applied_balance_amount - refunded_amount)</c>.</summary>
    public long RefundableAmount => Math.Max(0, NetAmount - RefundedAmount);

    /// <summary><c>Order.paid</c>: true for paid, refunded and partially refunded orders.</summary>
    public bool IsPaid => Status is "paid" or "refunded" or "partially_refunded";

    /// <summary>Whether a succeeded payment backs the order (a charge to refund): paid with a positive total.</summary>
    public bool HasPayment { get; set; }

    /// <summary>When the queued <c>order.invoice</c> job runs (Polar's worker, here on the emulator's clock).</summary>
    public DateTimeOffset? InvoiceJobDueAt { get; set; }

    /// <summary><c>invoice_path</c>: set once the invoice is generated (<c>is_invoice_generated</c>).</summary>
    public string? InvoicePath { get; set; }

    /// <summary>The order's billing details when the invoice was generated (<c>invoice_checksum</c>).</summary>
    public string? InvoiceChecksum { get; set; }

    /// <summary>When the next dunning retry of a pending order is due.</summary>
    public DateTimeOffset? NextPaymentAttemptAt { get; set; }
}

/// <summary>An order line (<c>OrderItemSchema</c>); <c>Start</c>/<c>End</c> are the period it covers, null for a purchase.</summary>
internal sealed record OrderItemRecord(string Id, string Label, long Amount, bool Proration, string PriceId, DateTimeOffset? Start, DateTimeOffset? End);
