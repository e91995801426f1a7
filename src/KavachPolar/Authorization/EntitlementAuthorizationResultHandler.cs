using KavachPolar.Endpoints;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Authorization;

/// <summary>
/// Answers a refusal of the gate as an API expects: 403 with the refused requirement's problem (e.g.
/// <c>subscription_required</c>, <c>benefit_required</c>), or 503 <c>store_unavailable</c> when the database did not answer. A browser page
/// request (one that accepts <c>text/html</c>) goes to the host's own forbidden handling instead, as does every other
/// authorization result.
/// </summary>
internal sealed class EntitlementAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var reason = authorizeResult.Forbidden
            ? authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault(r => r.Handler is EntitlementAuthorizationHandler)
            : null;
        if (reason?.Message == KavachPolarErrorCodes.StoreUnavailable)
        {
            await KavachProblems.StoreUnavailable(context).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (reason is not null && !AcceptsHtml(context.Request))
        {
            await KavachProblems.FromCode(context, reason.Message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await inner.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);
    }

    private static bool AcceptsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase));
}
