using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Authentication;
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
    private int _orderWarned;

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, SubscriptionRequirement requirement)
    {
        var userId = context.User.FindFirst(options.CurrentValue.UserIdClaimType)?.Value;
        if (context.User.Identity?.IsAuthenticated != true || string.IsNullOrWhiteSpace(userId) || userId.Length > Limits.UserId)
        {
            // Anonymous: RequireAuthenticatedUser fails too, and the host challenges. The authentication middleware
            // leaves its feature on every request it sees: without it, it has not run yet, and the user may only look
            // anonymous (a middleware order that sends paying users to the sign-in page with nothing logged).
            if (context.Resource is HttpContext http && http.Features.Get<IAuthenticationFeature>() is null && Interlocked.Exchange(ref _orderWarned, 1) == 0)
            {
                Log.AuthorizationBeforeAuthentication(logger);
            }

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
