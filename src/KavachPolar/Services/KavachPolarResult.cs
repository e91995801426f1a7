namespace KavachPolar;

/// <summary>The outcome of an operation that talks to Polar.</summary>
/// <param name="Succeeded">Whether the operation did what was asked.</param>
/// <param name="Subscription">The user's current subscription afterwards (also when it failed, as far as known).</param>
/// <param name="ErrorCode">
/// A stable code when it failed: <c>no_subscription</c>, <c>not_found</c>, <c>polar_rejected</c>,
/// <c>polar_conflict</c>, <c>polar_validation_failed</c>, <c>polar_token_rejected</c>,
/// <c>polar_rate_limited</c>, <c>polar_unavailable</c>, <c>polar_unexpected_response</c>.
/// </param>
/// <param name="RetryAfter">For <c>polar_rate_limited</c>, how long Polar asked to wait.</param>
public sealed record KavachPolarResult(bool Succeeded, KavachSubscription? Subscription, string? ErrorCode = null, TimeSpan? RetryAfter = null);

/// <summary>What <see cref="IKavachPolarSubscriptions.ReconcileAllAsync"/> did.</summary>
/// <param name="SubscriptionsRead">Subscriptions read from Polar.</param>
/// <param name="Changes">Users whose current subscription changed.</param>
/// <param name="ErrorCode">Set when Polar could not be read to the end; the pages read before were applied.</param>
public sealed record KavachReconcileSummary(int SubscriptionsRead, int Changes, string? ErrorCode = null);
