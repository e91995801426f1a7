using System.Security.Claims;
using KavachPolar.Diagnostics;
using KavachPolar.Services;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Authorization;

/// <summary>
/// Decides every <see cref="EntitlementRequirement"/> of a policy from one read of the user's state: from the read
/// cache without leaving the thread or allocating (the common case: a gated request costs a lookup), else with one
/// query bounded by <see cref="KavachPolarOptions.DatabaseTimeout"/>. Never asks Polar. A failure says why, for
/// <see cref="EntitlementAuthorizationResultHandler"/> to answer.
/// </summary>
internal sealed class EntitlementAuthorizationHandler(
    SubscriptionReader reader,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<EntitlementAuthorizationHandler> logger) : IAuthorizationHandler
{
    private int _orderWarned;

    public Task HandleAsync(AuthorizationHandlerContext context)
    {
        if (!HasEntitlementRequirement(context))
        {
            return Task.CompletedTask;
        }

        var settings = options.CurrentValue;
        var userId = SignedInUserId(context.User, settings.UserIdClaimType);
        if (userId is null)
        {
            // Anonymous: RequireAuthenticatedUser fails too, and the host challenges. The authentication middleware
            // leaves its feature on every request it sees: without it, it has not run yet, and the user may only look
            // anonymous (a middleware order that sends paying users to the sign-in page with nothing logged).
            if (context.Resource is HttpContext http && http.Features.Get<IAuthenticationFeature>() is null && Interlocked.Exchange(ref _orderWarned, 1) == 0)
            {
                Log.AuthorizationBeforeAuthentication(logger);
            }

            return Task.CompletedTask;
        }

        if (reader.TryGetCached(userId, out var state))
        {
            Decide(context, state, settings);
            return Task.CompletedTask;
        }

        return LoadAndDecideAsync(context, userId, settings);
    }

    private async Task LoadAndDecideAsync(AuthorizationHandlerContext context, string userId, KavachPolarOptions settings)
    {
        var ct = (context.Resource as HttpContext)?.RequestAborted ?? default;
        try
        {
            Decide(context, await reader.LoadAsync(userId, ct).ConfigureAwait(false), settings);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, ct))
        {
            Log.StoreUnavailable(logger, e, "entitlement gate");
            context.Fail(new AuthorizationFailureReason(this, KavachPolarErrorCodes.StoreUnavailable));
        }
    }

    private void Decide(AuthorizationHandlerContext context, CachedUser state, KavachPolarOptions settings)
    {
        // The policy's requirements are a read-only list (AuthorizationPolicy keeps them so): indexing it allocates no
        // enumerator.
        if (context.Requirements is IReadOnlyList<IAuthorizationRequirement> list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                Decide(context, list[i], state, settings);
            }

            return;
        }

        foreach (var requirement in context.Requirements)
        {
            Decide(context, requirement, state, settings);
        }
    }

    private void Decide(AuthorizationHandlerContext context, IAuthorizationRequirement requirement, CachedUser state, KavachPolarOptions settings)
    {
        if (requirement is not EntitlementRequirement entitlement)
        {
            return;
        }

        if (entitlement.IsMetBy(state, settings))
        {
            context.Succeed(entitlement);
        }
        else
        {
            entitlement.ExplainRefusal(logger, settings);
            context.Fail(new AuthorizationFailureReason(this, entitlement.RefusalCode));
        }
    }

    private static bool HasEntitlementRequirement(AuthorizationHandlerContext context)
    {
        if (context.Requirements is IReadOnlyList<IAuthorizationRequirement> list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is EntitlementRequirement)
                {
                    return true;
                }
            }

            return false;
        }

        return context.Requirements.Any(r => r is EntitlementRequirement);
    }

    /// <summary>
    /// The user id claim of a signed-in identity, or null for an anonymous user or an unusable id. The claim's own
    /// identity must be authenticated (asking the principal's <c>Identity</c> would allocate on every request).
    /// </summary>
    private static string? SignedInUserId(ClaimsPrincipal user, string claimType)
    {
        var claim = user.FindFirst(claimType);
        return claim is { Subject.IsAuthenticated: true, Value: { Length: > 0 and <= Limits.UserId } id } && !string.IsNullOrWhiteSpace(id) ? id : null;
    }
}
