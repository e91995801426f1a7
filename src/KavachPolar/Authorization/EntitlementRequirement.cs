using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Authorization;

/// <summary>
/// Something the signed-in user must hold, decided from their state in this app's database (the read cache, or one
/// query), never from Polar. <see cref="EntitlementAuthorizationHandler"/> reads that state once per request for every
/// such requirement of the policy, and a refusal answers the problem <see cref="RefusalCode"/> names
/// (<see cref="EntitlementAuthorizationResultHandler"/>). A subscription, a benefit; purchases derive from it too.
/// </summary>
internal abstract class EntitlementRequirement : IAuthorizationRequirement
{
    /// <summary>The problem code a signed-in user without it gets (403), e.g. <c>subscription_required</c>.</summary>
    public abstract string RefusalCode { get; }

    /// <summary>
    /// Whether <paramref name="state"/> satisfies the requirement under <paramref name="options"/>. Runs for every gated
    /// request: it must not allocate or block.
    /// </summary>
    public abstract bool IsMetBy(CachedUser state, KavachPolarOptions options);

    /// <summary>
    /// Called when the requirement refused a user: logs what the host may have got wrong (once), e.g. a name that
    /// resolves to nothing. Nothing by default.
    /// </summary>
    public virtual void ExplainRefusal(ILogger logger, KavachPolarOptions options)
    {
    }
}
