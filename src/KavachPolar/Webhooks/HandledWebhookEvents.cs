namespace KavachPolar.Webhooks;

/// <summary>
/// The webhook events KavachPolar acts on, in Polar's names: what a webhook endpoint for this app must send. The
/// start-up self-check compares it with the endpoint's events; it grows with what <see cref="WebhookProcessor"/>
/// handles. Every other event is acknowledged and ignored.
/// </summary>
internal static class HandledWebhookEvents
{
    /// <summary>
    /// Every <c>subscription.*</c> event of Polar's <c>WebhookEventType</c> (<c>server/polar/models/webhook_endpoint.py</c>):
    /// each carries the whole subscription, and some changes are announced by one of them only. Then every
    /// <c>benefit_grant.*</c> event, which carry the grants the benefit gate reads (a revoke is announced by
    /// <c>benefit_grant.revoked</c> only). Then <c>order.created</c> and <c>order.updated</c>, which between them carry
    /// every state of an order (<c>order/service.py</c>: a new order is announced by <c>order.created</c>, and every later
    /// change, paid, refunded, partially refunded, a refund reverted, an invoice made, by <c>order.updated</c>, a reverted
    /// refund by it alone). <c>order.paid</c> and <c>order.refunded</c> follow an <c>order.updated</c> with the same order
    /// and are applied when sent, but not required; <c>refund.*</c> carry no order state. <c>customer.state_changed</c>
    /// is only a trigger to reconcile grants, and is not required.
    /// </summary>
    public static readonly IReadOnlyList<string> All =
    [
        "subscription.created", "subscription.updated", "subscription.active", "subscription.canceled", "subscription.uncanceled",
        "subscription.cycled", "subscription.revoked", "subscription.past_due", "subscription.paused", "subscription.resumed",
        "benefit_grant.created", "benefit_grant.updated", "benefit_grant.cycled", "benefit_grant.revoked",
        "order.created", "order.updated",
    ];
}
