using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Authorization;

/// <summary>
/// Decides <see cref="BenefitRequirement"/> from this app's database (the read cache, or one query), never from Polar,
/// as <see cref="SubscriptionAuthorizationHandler"/> decides subscriptions. A name that is neither a benefit id nor a
/// slug of <c>KavachPolar:Benefits</c> is held by nobody, and logged once (1203).
/// </summary>
internal sealed class BenefitAuthorizationHandler(
    Services.BenefitReader benefits,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<BenefitAuthorizationHandler> logger) : AuthorizationHandler<BenefitRequirement>
{
    private int _unknownWarned;

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, BenefitRequirement requirement)
    {
        var userId = context.User.FindFirst(options.CurrentValue.UserIdClaimType)?.Value;
        if (context.User.Identity?.IsAuthenticated != true || string.IsNullOrWhiteSpace(userId) || userId.Length > Limits.UserId)
        {
            // Anonymous: RequireAuthenticatedUser fails too, and the host challenges.
            return;
        }

        var wanted = benefits.Resolve(requirement.Benefits);
        if (wanted.Count < requirement.Benefits.Count && Interlocked.Exchange(ref _unknownWarned, 1) == 0)
        {
            Log.UnknownBenefitName(logger, string.Join(", ", requirement.Benefits));
        }

        var ct = (context.Resource as HttpContext)?.RequestAborted ?? default;
        try
        {
            if (wanted.Count > 0 && await benefits.HoldsAnyAsync(userId, wanted, ct).ConfigureAwait(false))
            {
                context.Succeed(requirement);
            }
            else
            {
                context.Fail(new AuthorizationFailureReason(this, KavachPolarErrorCodes.BenefitRequired));
            }
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, ct))
        {
            Log.StoreUnavailable(logger, e, "benefit gate");
            context.Fail(new AuthorizationFailureReason(this, KavachPolarErrorCodes.StoreUnavailable));
        }
    }
}
