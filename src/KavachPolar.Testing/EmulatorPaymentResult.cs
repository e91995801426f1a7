namespace KavachPolar.Testing;

/// <summary>What paying a checkout on the hosted page produced.</summary>
/// <param name="CheckoutId">The checkout that succeeded.</param>
/// <param name="CustomerId">The customer the checkout created or reused.</param>
/// <param name="SubscriptionId">The subscription created.</param>
/// <param name="RedirectUrl">Where the hosted page redirects: <c>success_url</c> with <c>{CHECKOUT_ID}</c> replaced.</param>
public sealed record EmulatorPaymentResult(string CheckoutId, string CustomerId, string SubscriptionId, Uri RedirectUrl);
