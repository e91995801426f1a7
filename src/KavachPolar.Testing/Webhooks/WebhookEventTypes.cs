namespace KavachPolar.Testing.Webhooks;

/// <summary>Every webhook event type Polar knows, for validating endpoint subscriptions and listing endpoints.</summary>
internal static class WebhookEventTypes
{
    /// <summary>
    /// In the order of Polar's <c>WebhookEventType</c> (<c>server/polar/models/webhook_endpoint.py</c>), with
    /// <c>subscription.migrated</c>, which SDK 1.0.1 (September 2026) adds after that snapshot.
    /// </summary>
    public static readonly IReadOnlyList<string> Ordered =
    [
        "checkout.created", "checkout.updated", "checkout.expired",
        "customer.created", "customer.updated", "customer.deleted", "customer.state_changed",
        "customer_seat.assigned", "customer_seat.claimed", "customer_seat.revoked",
        "member.created", "member.updated", "member.deleted",
        "order.created", "order.updated", "order.paid", "order.refunded",
        "subscription.created", "subscription.updated", "subscription.active", "subscription.canceled", "subscription.uncanceled",
        "subscription.cycled", "subscription.revoked", "subscription.past_due", "subscription.paused", "subscription.resumed", "subscription.migrated",
        "refund.created", "refund.updated", "product.created", "product.updated",
        "discount.created", "discount.updated", "discount.deleted",
        "benefit.created", "benefit.updated", "benefit_grant.created", "benefit_grant.cycled", "benefit_grant.updated", "benefit_grant.revoked",
        "organization.updated",
    ];

    public static readonly IReadOnlySet<string> All = new HashSet<string>(Ordered, StringComparer.Ordinal);
}
