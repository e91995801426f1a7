namespace KavachPolar;

/// <summary>
/// What <see cref="KavachPolarOptions.OnSubscriptionChange"/> receives when a user's current
/// subscription changes. Identical on every retry of the same change.
/// </summary>
/// <param name="UserId">The application's user id.</param>
/// <param name="Current">The user's current live subscription after the change, or <see langword="null"/> when none is live.</param>
/// <param name="Previous">The user's current live subscription before the change, or <see langword="null"/>.</param>
/// <param name="EventId">The <c>webhook-id</c> of the delivery that caused the change, or a reconcile id (<c>reconcile:...</c>); use it to make the handler idempotent.</param>
/// <param name="EventType">The Polar event type (e.g. <c>subscription.revoked</c>), or <c>reconcile</c>.</param>
public sealed record KavachSubscriptionChange(
    string UserId,
    KavachSubscription? Current,
    KavachSubscription? Previous,
    string EventId,
    string EventType);
