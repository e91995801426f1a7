namespace KavachPolar;

/// <summary>
/// What <see cref="KavachPolarOptions.OnSubscriptionChange"/> and <see cref="IKavachSubscriptionChangeHandler"/>s
/// receive when a user's current subscription changes. Identical on every retry of the same change. A plain record
/// with <see langword="init"/> properties that <c>System.Text.Json</c> serializes; fields added later are optional
/// properties, so code that creates or reads one keeps compiling.
/// </summary>
public sealed record KavachSubscriptionChange
{
    /// <summary>The application's user id.</summary>
    public required string UserId { get; init; }

    /// <summary>The user's current live subscription after the change, or <see langword="null"/> when none is live.</summary>
    public KavachSubscription? Current { get; init; }

    /// <summary>The user's current live subscription before the change, or <see langword="null"/>.</summary>
    public KavachSubscription? Previous { get; init; }

    /// <summary>
    /// The <c>webhook-id</c> of the delivery that caused the change, or an id of the form <c>reconcile:…</c>,
    /// <c>api:…</c> or <c>link:…</c> for changes found by reconciling, by a cancel or resume through
    /// <c>IKavachPolarSubscriptions</c>, or by binding a Polar customer at checkout. One event changes a given user at
    /// most once, so (<see cref="UserId"/>, <see cref="EventId"/>) identifies a change: make the handler idempotent on
    /// that pair.
    /// </summary>
    public required string EventId { get; init; }

    /// <summary>The Polar event type (e.g. <c>subscription.revoked</c>), or <c>reconcile</c>.</summary>
    public required string EventType { get; init; }
}
