namespace KavachPolar.Storage;

/// <summary>
/// A subscription change waiting for <see cref="KavachPolarOptions.OnSubscriptionChange"/>
/// (<c>kavach_polar_callbacks</c>). Written in the same transaction as the change, deleted once the
/// callback succeeds; instances claim rows with a lease so one callback never runs twice at once.
/// </summary>
internal sealed class PendingCallbackRecord
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    /// <summary>The serialized <see cref="KavachSubscriptionChange"/>, replayed unchanged on every attempt.</summary>
    public required string Change { get; set; }

    public int Attempts { get; set; }

    public long NextAttemptAtUs { get; set; }

    public long? LockedUntilUs { get; set; }

    public string? LockOwner { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
