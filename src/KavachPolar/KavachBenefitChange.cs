namespace KavachPolar;

/// <summary>
/// What <see cref="KavachPolarOptions.OnBenefitChange"/> and <see cref="IKavachBenefitChangeHandler"/>s receive when a
/// user's hold on a benefit changes: the user comes to hold it (through a first granted grant) or no longer holds it
/// (its last granted grant revoked or gone). A second grant of a held benefit, the revoke of one of two, a renewal's
/// <c>benefit_grant.cycled</c> or a failed grant change no hold and fire nothing. Identical on every retry of the same
/// change; a plain record that <c>System.Text.Json</c> serializes.
/// </summary>
public sealed record KavachBenefitChange
{
    /// <summary>The application's user id.</summary>
    public required string UserId { get; init; }

    /// <summary>Polar's benefit id.</summary>
    public required string BenefitId { get; init; }

    /// <summary>The benefit as the user holds it after the change, or <see langword="null"/> when no longer held.</summary>
    public KavachBenefit? Current { get; init; }

    /// <summary>The benefit as the user held it before the change, or <see langword="null"/> when not held.</summary>
    public KavachBenefit? Previous { get; init; }

    /// <summary>
    /// The <c>webhook-id</c> of the delivery that caused the change, or an id of the form <c>reconcile:…</c> (or
    /// <c>link:…</c>). (<see cref="UserId"/>, <see cref="BenefitId"/>, <see cref="EventId"/>) identifies a change: make
    /// the handler idempotent on it.
    /// </summary>
    public required string EventId { get; init; }

    /// <summary>The Polar event type (e.g. <c>benefit_grant.revoked</c>, or <c>subscription.created</c> when a subscription
    /// that arrived after its grants linked them), or <c>reconcile</c>.</summary>
    public required string EventType { get; init; }
}
