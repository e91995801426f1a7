namespace KavachPolar;

/// <summary>
/// Receives benefit changes, like <see cref="KavachPolarOptions.OnBenefitChange"/>, as a service resolved from a fresh
/// DI scope for every call. Register it with <c>AddBenefitChangeHandler&lt;T&gt;()</c> on the builder that
/// <c>AddKavachPolar</c> returns.
/// </summary>
/// <remarks>
/// The guarantees of subscription changes: called after commit, at least once per change, in order per user (benefit
/// and subscription changes of one user share one order), retried with back-off while it throws, with the same
/// <see cref="KavachBenefitChange"/> each time. A change is queued only while some host of the app handles benefit
/// changes.
/// </remarks>
public interface IKavachBenefitChangeHandler
{
    /// <summary>Handles one change.</summary>
    Task HandleAsync(KavachBenefitChange change, CancellationToken cancellationToken);
}
