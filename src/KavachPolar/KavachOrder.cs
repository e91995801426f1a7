namespace KavachPolar;

/// <summary>
/// One of the user's Polar orders: a one-time purchase or a subscription's order (creation, renewal, plan change), as
/// <see cref="IKavachPolarEntitlements.GetOrdersAsync"/> and <c>GET {base}/auth/polar/orders</c> return it. Amounts are
/// Polar's integers in the currency's minor unit (cents). Whether it is refunded is <see cref="Status"/>, never
/// arithmetic on the amounts. A plain record with <see langword="init"/> properties: fields added later are optional.
/// </summary>
public sealed record KavachOrder
{
    /// <summary>Polar's order id.</summary>
    public required string Id { get; init; }

    /// <summary>The product ordered (Polar allows none, for orders without a product).</summary>
    public string? ProductId { get; init; }

    /// <summary>Polar's status: <c>draft</c>, <c>pending</c>, <c>paid</c>, <c>refunded</c>, <c>partially_refunded</c> or <c>void</c>.</summary>
    public required string Status { get; init; }

    /// <summary>
    /// Polar's <c>billing_reason</c>: <c>purchase</c> (a one-time product), <c>subscription_create</c>,
    /// <c>subscription_cycle</c> (a renewal), <c>subscription_update</c> (a plan change billed at once) or
    /// <c>subscription_meter_cycle</c>.
    /// </summary>
    public required string BillingReason { get; init; }

    /// <summary>The amount before tax, after discounts.</summary>
    public long NetAmount { get; init; }

    /// <summary>The tax.</summary>
    public long TaxAmount { get; init; }

    /// <summary><see cref="NetAmount"/> plus <see cref="TaxAmount"/>.</summary>
    public long TotalAmount { get; init; }

    /// <summary>Refunded so far, net of tax (as Polar's <c>refunded_amount</c>).</summary>
    public long RefundedAmount { get; init; }

    /// <summary>The currency, as Polar writes it (<c>usd</c>).</summary>
    public required string Currency { get; init; }

    /// <summary>When Polar created the order.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The subscription the order bills; <see langword="null"/> for a one-time purchase.</summary>
    public string? SubscriptionId { get; init; }
}
