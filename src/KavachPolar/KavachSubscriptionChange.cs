namespace KavachPolar;

/// <summary>
/// What <see cref="KavachPolarOptions.OnSubscriptionChange"/> receives when a user's current
/// subscription changes. Identical on every retry of the same change.
/// </summary>
/// <param name="UserId">The application's user id.</param>
/// <param name="Current">The user's current live subscription after the change, or <see langword="null"/> when none is live.</param>
/// <param name="Previous">The user's current live subscription before the change, or <see langword="null"/>.</param>
/// <param name="EventId">
/// The <c>webhook-id</c> of the delivery that caused the change, or an id of the form
/// <c>reconcile:…</c>, <c>api:…</c> or <c>link:…</c> for changes found by reconciling, by a cancel or
/// resume through <c>IKavachPolarSubscriptions</c>, or by binding a Polar customer at checkout. One
/// event changes a given user at most once, so (<paramref name="UserId"/>, <paramref name="EventId"/>)
/// identifies a change: make the handler idempotent on that pair.
/// </param>
/// <param name="EventType">The Polar event type (e.g. <c>subscription.revoked</c>), or <c>reconcile</c>.</param>
public sealed record KavachSubscriptionChange(
    string UserId,
    KavachSubscription? Current,
    KavachSubscription? Previous,
    string EventId,
    string EventType);
