using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Authorization;

/// <summary>
/// Decides <see cref="SubscriptionRequirement"/> from this app's database (the read cache, or one query),
/// never from Polar. A failure says why, for <see cref="SubscriptionAuthorizationResultHandler"/> to answer.
/// </summary>
internal sealed class SubscriptionAuthorizationHandler(
    Services.SubscriptionReader subscriptions,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<SubscriptionAuthorizationHandler> logger) : AuthorizationHandler<SubscriptionRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, SubscriptionRequirement requirement)
    {
        var userId = context.User.FindFirst(options.CurrentValue.UserIdClaimType)?.Value;
        if (context.User.Identity?.IsAuthenticated != true || string.IsNullOrWhiteSpace(userId) || userId.Length > Limits.UserId)
        {
            // Anonymous: RequireAuthenticatedUser fails too, and the host challenges.
            return;
        }

        var ct = (context.Resource as HttpContext)?.RequestAborted ?? default;
        try
        {
            if (await subscriptions.IsEntitledAsync(userId, requirement.Products, ct).ConfigureAwait(false))
            {
                context.Succeed(requirement);
            }
            else
            {
                context.Fail(new AuthorizationFailureReason(this, KavachPolarErrorCodes.SubscriptionRequired));
            }
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, ct))
        {
            Log.StoreUnavailable(logger, e, "subscription gate");
            context.Fail(new AuthorizationFailureReason(this, KavachPolarErrorCodes.StoreUnavailable));
        }
    }
}
