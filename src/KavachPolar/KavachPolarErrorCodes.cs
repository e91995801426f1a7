namespace KavachPolar;

/// <summary>
/// The stable, machine-readable error codes KavachPolar returns: the <c>code</c> of every problem response (also
/// the last segment of its <c>type</c>) and <see cref="KavachPolarResult.ErrorCode"/>.
/// </summary>
public static class KavachPolarErrorCodes
{
    /// <summary>401: no signed-in user (or the user id claim is missing).</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>403: a cookie (or other browser-sent) authenticated request from another site.</summary>
    public const string CrossSiteRequest = "cross_site_request";

    /// <summary>429: too many requests from this user; see <c>Retry-After</c>.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>400: the body is not the JSON the route expects.</summary>
    public const string InvalidBody = "invalid_body";

    /// <summary>413: the body is larger than the route accepts.</summary>
    public const string BodyTooLarge = "body_too_large";

    /// <summary>415: the body is not <c>application/json</c>.</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";

    /// <summary>400: the product is not a Polar product id or, when products are configured, not one of them.</summary>
    public const string UnknownProduct = "unknown_product";

    /// <summary>400: the success URL is neither on this site nor on an allowed origin.</summary>
    public const string SuccessUrlNotAllowed = "success_url_not_allowed";

    /// <summary>400: the user has no email claim and no Polar customer yet, so no customer can be created for them.</summary>
    public const string EmailRequired = "email_required";

    /// <summary>
    /// 409: the user's email belongs to a Polar customer of another user (another external id, or none). No checkout
    /// is created, because Polar would attach the purchase to that customer; an error log names it.
    /// </summary>
    public const string CustomerConflict = "customer_conflict";

    /// <summary>409: the user already has a live subscription and asked to check out another recurring product; the problem carries it. Change plan instead. One-time products can be bought beside it.</summary>
    public const string AlreadySubscribed = "already_subscribed";

    /// <summary>409: the host forgot this user id (<see cref="IKavachPolarSubscriptions.ForgetUserAsync"/>).</summary>
    public const string UserForgotten = "user_forgotten";

    /// <summary>409: the user has no live subscription to change, cancel or resume.</summary>
    public const string NoSubscription = "no_subscription";

    /// <summary>409: the user has no Polar customer yet (nothing bought), so there is no portal to open.</summary>
    public const string NoCustomer = "no_customer";

    /// <summary>403 (from <c>RequireSubscription</c> and <see cref="KavachPolarPolicies.Subscribed"/>): signed in, without an entitled subscription (of the products asked for).</summary>
    public const string SubscriptionRequired = "subscription_required";

    /// <summary>403 (from <c>RequireBenefit</c> and <see cref="RequireBenefitAttribute"/>): signed in, without any of the benefits asked for.</summary>
    public const string BenefitRequired = "benefit_required";

    /// <summary>403 (from <c>RequirePurchase</c> and <see cref="RequirePurchaseAttribute"/>): signed in, without a paid one-time order of any of the products asked for.</summary>
    public const string PurchaseRequired = "purchase_required";

    /// <summary>409: the user already bought this one-time product, and <see cref="KavachPolarOptions.OneTimePurchaseLimit"/> names it (it can be bought once).</summary>
    public const string AlreadyPurchased = "already_purchased";

    /// <summary>
    /// 409 (from <c>POST orders/{id}/invoice</c>): Polar makes an invoice only for an order with a billing name and a billing
    /// address, and this order has not both. The customer adds them in Polar's customer portal, then asks again.
    /// </summary>
    public const string InvoiceBillingDetailsMissing = "invoice_billing_details_missing";

    /// <summary>400: <c>proration</c> is not <c>invoice</c>, <c>prorate</c> or <c>next_period</c>.</summary>
    public const string InvalidProration = "invalid_proration";

    /// <summary>404: no such object, or it belongs to another user.</summary>
    public const string NotFound = "not_found";

    /// <summary>503: the database did not answer in time; see <c>Retry-After</c>.</summary>
    public const string StoreUnavailable = "store_unavailable";

    /// <summary>Webhook 400: a <c>webhook-id</c>, <c>webhook-timestamp</c> or <c>webhook-signature</c> header is missing, repeated or malformed.</summary>
    public const string MissingHeader = "missing_header";

    /// <summary>Webhook 400: a <c>webhook-*</c> header appears more than once.</summary>
    public const string RepeatedHeader = "repeated_header";

    /// <summary>Webhook 400: the headers parse but are malformed (a signature list with no <c>v1</c> entry, a timestamp that is not a number).</summary>
    public const string MalformedHeaders = "malformed_headers";

    /// <summary>Webhook 400: the body ended before its <c>Content-Length</c>, or took too long to arrive.</summary>
    public const string BodyIncomplete = "body_incomplete";

    /// <summary>Webhook 403: the timestamp is outside the tolerance (check the server's clock).</summary>
    public const string TimestampOutOfTolerance = "timestamp_out_of_tolerance";

    /// <summary>Webhook 403: no signature matches any configured secret.</summary>
    public const string InvalidSignature = "invalid_signature";

    /// <summary>422: Polar's validation errors, listed as <c>errors</c> with field paths and messages.</summary>
    public const string PolarValidationFailed = "polar_validation_failed";

    /// <summary>502: Polar rejected this server's access token (an error log says what to check).</summary>
    public const string PolarTokenRejected = "polar_token_rejected";

    /// <summary>409: Polar reported a conflict.</summary>
    public const string PolarConflict = "polar_conflict";

    /// <summary>400: Polar refused the request (another 4xx).</summary>
    public const string PolarRejected = "polar_rejected";

    /// <summary>503: Polar's rate limit; see <c>Retry-After</c>.</summary>
    public const string PolarRateLimited = "polar_rate_limited";

    /// <summary>502: Polar is down or unreachable.</summary>
    public const string PolarUnavailable = "polar_unavailable";

    /// <summary>502: Polar answered with a redirect, an unknown route or an unreadable body (a wrong base URL or a proxy).</summary>
    public const string PolarUnexpectedResponse = "polar_unexpected_response";
}
