namespace KavachPolar.Testing;

/// <summary>What paying a checkout on the hosted page produced.</summary>
/// <param name="CheckoutId">The checkout that succeeded.</param>
/// <param name="CustomerId">The customer the checkout created or reused.</param>
/// <param name="SubscriptionId">The subscription created; empty for a one-time product, which creates no subscription
/// (see <see cref="OrderId"/>).</param>
/// <param name="RedirectUrl">Where the hosted page redirects: <c>success_url</c> with <c>{CHECKOUT_ID}</c> replaced.</param>
public sealed record EmulatorPaymentResult(string CheckoutId, string CustomerId, string SubscriptionId, Uri RedirectUrl)
{
    /// <summary>The paid order the checkout created: the purchase of a one-time product, or a subscription's first order.</summary>
    public string OrderId { get; init; } = "";
}
