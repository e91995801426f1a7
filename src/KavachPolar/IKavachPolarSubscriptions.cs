namespace KavachPolar;

/// <summary>
/// What an application can do with a user's Polar subscription from its own code (a billing page,
/// a job). Resolve it from a request or job scope.
/// </summary>
public interface IKavachPolarSubscriptions
{
    /// <summary>The user's current live subscription, from the database only; <see langword="null"/> when none.</summary>
    Task<KavachSubscription?> GetSubscriptionAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the user has an entitled subscription (active or trialing; one scheduled to cancel still counts),
    /// optionally of one of <paramref name="products"/> (Polar product ids, or slugs of
    /// <see cref="KavachPolarOptions.Products"/>). Reads this app's database only, never Polar.
    /// </summary>
    Task<bool> IsEntitledAsync(string userId, IReadOnlyCollection<string>? products = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Switches the user's current subscription to another product (a Polar product id, or a slug of
    /// <see cref="KavachPolarOptions.Products"/>) through <c>PATCH /v1/subscriptions/{id}</c>, and applies Polar's
    /// answer locally at once. A product that is neither: <see cref="KavachPolarErrorCodes.UnknownProduct"/>, checked
    /// first, without the database (so the result carries no subscription). The product it runs on now: success, no change
    /// call, unless Polar holds a <c>next_period</c> change (<see cref="KavachSubscription.ScheduledChange"/>), which is then
    /// dropped at Polar (<c>{"pending_update": null}</c>) so the renewal keeps this product. With
    /// <see cref="KavachProrationBehavior.NextPeriod"/>, the product already scheduled: success, no call. No live subscription:
    /// <see cref="KavachPolarErrorCodes.NoSubscription"/>. Polar refuses to change a subscription that is canceled
    /// or scheduled to cancel (<see cref="KavachPolarErrorCodes.PolarRejected"/>): resume it first.
    /// </summary>
    Task<KavachPolarResult> ChangePlanAsync(string userId, string productId, KavachProrationBehavior proration = KavachProrationBehavior.Invoice, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a Polar customer portal session for the user's bound Polar customer (where they manage payment
    /// methods, invoices and subscriptions). No customer: <see cref="KavachPolarErrorCodes.NoCustomer"/>.
    /// </summary>
    /// <param name="userId">The app's user id.</param>
    /// <param name="returnUrl">Where the portal's back button leads, or <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    Task<KavachPortalSessionResult> CreatePortalSessionAsync(string userId, Uri? returnUrl = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks Polar to cancel the user's current subscription at the end of the period (access stays until
    /// then), and applies Polar's answer locally at once.
    /// </summary>
    Task<KavachPolarResult> CancelAtPeriodEndAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Undoes a scheduled cancellation through Polar, and applies Polar's answer locally at once.</summary>
    Task<KavachPolarResult> ResumeAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fetches the user's subscriptions from Polar's API and repairs local state, for when webhooks were
    /// missed for longer than Polar retries. Changes found call <see cref="KavachPolarOptions.OnSubscriptionChange"/>
    /// with event type <c>reconcile</c>.
    /// </summary>
    Task<KavachPolarResult> ReconcileUserAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reconciles after a checkout: fetches the checkout, and when it belongs to <paramref name="userId"/>,
    /// applies the subscription that checkout created (and nothing else of its customer). A success page calls
    /// this so it never shows "no subscription" right after paying, whether or not the webhook has arrived.
    /// </summary>
    Task<KavachPolarResult> ReconcileCheckoutAsync(string userId, string checkoutId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pages through every subscription of the organization in Polar, then every benefit grant, and repairs local state
    /// (a stored grant Polar no longer lists is removed). Returns how many subscriptions and grants were read, how many
    /// users' current subscription changed and how many (user, benefit) holds changed.
    /// </summary>
    Task<KavachReconcileSummary> ReconcileAllAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Processes again every delivery recorded as <c>unprocessable</c> (a validly signed body KavachPolar could not
    /// read, kept raw in <c>kavach_polar_webhook_events</c>): after an upgrade that fixes how such a body is read, this
    /// applies it. Each is processed as a redelivery would be (same <c>webhook-id</c>, behind the same version guard),
    /// oldest first. Polar's own redeliveries of an unprocessable event are processed again too.
    /// </summary>
    Task<KavachReplaySummary> ReplayUnprocessableAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Forgets a user (account deletion, a privacy request): removes the <c>kavach_users</c> row, the user's
    /// subscriptions as KavachPolar stored them, the link to their Polar customer and their pending callbacks, and
    /// keeps a tombstone (the user id and Polar customer id, in <c>kavach_polar_forgotten_users</c>) so that later
    /// webhooks naming either are recorded and acknowledged but never recreate the row. Nothing is changed in Polar.
    /// </summary>
    /// <returns><see langword="true"/> when a row or stored subscription was removed; the tombstone is written either way.</returns>
    /// <remarks>
    /// The user id cannot check out again while the tombstone exists (409 <c>user_forgotten</c>). An app that reuses
    /// user ids must delete the Polar customer (which frees its external id) and then the tombstone row.
    /// </remarks>
    Task<bool> ForgetUserAsync(string userId, CancellationToken cancellationToken = default);
}
