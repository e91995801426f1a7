namespace KavachPolar.Storage;

/// <summary>
/// One Polar order as last seen (<c>kavach_polar_orders</c>): a one-time purchase (<c>billing_reason</c>
/// <c>purchase</c>, no subscription) or a subscription's order (creation, renewal, plan change), the user's billing
/// history. Purchase access follows <see cref="Status"/> (<c>paid</c> or <c>partially_refunded</c>), never arithmetic.
/// </summary>
internal sealed class OrderRecord
{
    public required string Id { get; set; }

    /// <summary>
    /// The application user: the order's <c>metadata.kavach_user_id</c> (Polar copies the checkout's, or the
    /// subscription's for its orders), else the user of the subscription's row, else the customer's external id, then
    /// the user bound to the customer; null until one of them is known (linked then).
    /// </summary>
    public string? UserId { get; set; }

    public required string CustomerId { get; set; }

    /// <summary>Polar's <c>product_id</c> (nullable at Polar).</summary>
    public string? ProductId { get; set; }

    /// <summary>Null for a one-time purchase.</summary>
    public string? SubscriptionId { get; set; }

    public string? CheckoutId { get; set; }

    /// <summary>Polar's <c>OrderStatus</c>: draft, pending, paid, refunded, partially_refunded, void.</summary>
    public required string Status { get; set; }

    /// <summary>purchase, subscription_create, subscription_cycle, subscription_update, subscription_meter_cycle.</summary>
    public required string BillingReason { get; set; }

    public long NetAmount { get; set; }

    public long TaxAmount { get; set; }

    public long TotalAmount { get; set; }

    /// <summary>Refunded so far, net of tax.</summary>
    public long RefundedAmount { get; set; }

    public long RefundedTaxAmount { get; set; }

    /// <summary>ISO 4217, lower-case as Polar writes it.</summary>
    public required string Currency { get; set; }

    /// <summary>Polar's <c>created_at</c>.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The order's version, <c>modified_at ?? created_at</c> in Unix microseconds.</summary>
    public long VersionUs { get; set; }

    /// <summary>The envelope timestamp of the event that wrote this order (Unix microseconds): breaks ties of equal version.</summary>
    public long SourceTimestampUs { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
