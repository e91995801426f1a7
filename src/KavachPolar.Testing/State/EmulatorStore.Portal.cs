using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

/// <summary>What the hosted customer portal page shows: the customer's subscriptions and orders, and where "Back" goes.</summary>
internal sealed record PortalView(
    CustomerRecord Customer,
    string? ReturnUrl,
    IReadOnlyList<(SubscriptionRecord Subscription, ProductRecord Product)> Subscriptions,
    IReadOnlyList<(OrderRecord Order, ProductRecord Product)> Orders);

/// <summary>
/// The customer portal behind a customer session token (<c>polar_cst_...</c>). Its actions are those of Polar's
/// <c>customer_portal/service/subscription.py</c>: cancel at period end with an optional reason and comment, and
/// uncancel, each through the same subscription logic (and so the same webhooks) as <c>PATCH /v1/subscriptions/{id}</c>.
/// </summary>
internal sealed partial class EmulatorStore
{
    /// <summary>Polar's <c>CustomerCancellationReason</c>.</summary>
    internal static readonly string[] CancellationReasons = ["unused", "too_expensive", "missing_features", "switched_service", "customer_service", "low_quality", "too_complex", "other"];

    /// <summary>The portal behind a live session token of a customer that is not deleted; null otherwise.</summary>
    public PortalView? FindPortal(string token)
    {
        lock (_lock)
        {
            if (PortalSession(token) is not { } session)
            {
                return null;
            }

            var c = _customers[session.CustomerId];
            var subscriptions = SubscriptionsOf(c.Id).OrderByDescending(s => s.CreatedAt).Select(s => (s, Product(s.ProductId))).ToList();
            var orders = _orders.Values.Where(o => o.CustomerId == c.Id).OrderByDescending(o => o.CreatedAt).Select(o => (o, Product(o.ProductId))).ToList();
            return new PortalView(c, session.ReturnUrl, subscriptions, orders);
        }
    }

    /// <summary>
    /// The portal's cancel: at period end, with Polar's optional reason and comment. 401 without a live session, 404 for a
    /// subscription of another customer, 422 for an unknown reason, and the API's 403 when it is already canceled.
    /// </summary>
    public void PortalCancel(string token, string subscriptionId, string? reason, string? comment)
    {
        lock (_lock)
        {
            var s = PortalSubscription(token, subscriptionId);
            if (reason is not null && !CancellationReasons.Contains(reason))
            {
                var errors = new ValidationErrors();
                errors.Add("enum", ValidationErrors.Loc("body", "cancellation_reason"), "Input should be " + string.Join(", ", CancellationReasons.Select(r => $"'{r}'")), JsonValue.Create(reason));
                throw PolarApiException.Validation("RequestValidationError", errors);
            }

            CancelAtPeriodEnd(s, reason, comment);
        }
    }

    /// <summary>The portal's uncancel: the API's 400 when no cancellation is scheduled, 410 once it ended.</summary>
    public void PortalUncancel(string token, string subscriptionId)
    {
        lock (_lock)
        {
            Uncancel(PortalSubscription(token, subscriptionId));
        }
    }

    /// <summary>One of the session's customer's orders with its product, for the invoice page; 401 or 404 otherwise.</summary>
    public (CustomerRecord Customer, OrderRecord Order, ProductRecord Product) PortalOrder(string token, string orderId)
    {
        lock (_lock)
        {
            var session = PortalSession(token) ?? throw PolarApiException.Polar(401, "Unauthorized", "Unauthorized");
            if (!_orders.TryGetValue(orderId, out var order) || order.CustomerId != session.CustomerId)
            {
                throw PolarApiException.NotFound();
            }

            return (_customers[session.CustomerId], order, Product(order.ProductId));
        }
    }

    private CustomerSessionRecord? PortalSession(string token) =>
        _sessions.FirstOrDefault(s => s.Token == token && s.ExpiresAt > Now && _customers[s.CustomerId].DeletedAt is null);

    private SubscriptionRecord PortalSubscription(string token, string subscriptionId)
    {
        var session = PortalSession(token) ?? throw PolarApiException.Polar(401, "Unauthorized", "Unauthorized");
        return _subscriptions.TryGetValue(subscriptionId, out var s) && s.CustomerId == session.CustomerId
            ? s
            : throw PolarApiException.NotFound();
    }
}
