namespace KavachPolar;

/// <summary>
/// Receives subscription changes, like <see cref="KavachPolarOptions.OnSubscriptionChange"/>, but as
/// a service: resolved from a fresh DI scope for every call, so it can take a DbContext or any scoped
/// service in its constructor. Register it with <c>AddSubscriptionChangeHandler&lt;T&gt;()</c> on the
/// builder that <c>AddKavachPolar</c> returns.
/// </summary>
/// <remarks>
/// Same guarantees as the delegate: called after commit, at least once per change, in order per user,
/// retried with back-off while it throws, with the same <see cref="KavachSubscriptionChange"/> each
/// time. When several handlers (and the delegate) are registered, a failure in any of them retries the
/// change for all of them, so each must be idempotent on (<see cref="KavachSubscriptionChange.UserId"/>,
/// <see cref="KavachSubscriptionChange.EventId"/>).
/// </remarks>
public interface IKavachSubscriptionChangeHandler
{
    /// <summary>Handles one change.</summary>
    Task HandleAsync(KavachSubscriptionChange change, CancellationToken cancellationToken);
}
