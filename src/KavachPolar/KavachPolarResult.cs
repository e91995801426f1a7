namespace KavachPolar;

/// <summary>The outcome of an operation that talks to Polar.</summary>
public sealed class KavachPolarResult
{
    /// <summary>Whether the operation did what was asked.</summary>
    public required bool Succeeded { get; init; }

    /// <summary>
    /// Whether Polar was asked to change something and did (<see langword="false"/> when there was nothing to do,
    /// e.g. resuming a subscription that is not scheduled to cancel, or changing to the product it already has).
    /// </summary>
    public bool Changed { get; init; }

    /// <summary>The user's current subscription afterwards (also when it failed, as far as known).</summary>
    public KavachSubscription? Subscription { get; init; }

    /// <summary>A <see cref="KavachPolarErrorCodes"/> value when it failed.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>For <see cref="KavachPolarErrorCodes.PolarRateLimited"/>, how long Polar asked to wait.</summary>
    public TimeSpan? RetryAfter { get; init; }

    internal static KavachPolarResult Success(KavachSubscription? subscription, bool changed = false) => new() { Succeeded = true, Subscription = subscription, Changed = changed };

    internal static KavachPolarResult Failure(string errorCode, KavachSubscription? subscription, TimeSpan? retryAfter = null) =>
        new() { Succeeded = false, ErrorCode = errorCode, Subscription = subscription, RetryAfter = retryAfter };
}
