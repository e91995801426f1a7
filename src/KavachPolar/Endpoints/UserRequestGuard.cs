using System.Globalization;
using KavachPolar.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Endpoints;

/// <summary>
/// The checks every state-changing user route makes, in order: signed in (401), not cross-site unless
/// authenticated by a bearer token (403), within the per-user rate limit (429 with <c>Retry-After</c>).
/// </summary>
internal static class UserRequestGuard
{
    public static (RequestUser? User, ProblemHttpResult? Problem) Check(HttpContext context, KavachPolarOptions options, UserRateLimiter limiter, string operation, ILogger logger)
    {
        var user = RequestUser.From(context, options);
        if (user is null)
        {
            return (null, KavachProblems.Unauthorized());
        }

        if (IsCrossSite(context.Request, AppOrigin.Of(context.Request, options), options))
        {
            Log.RequestRefused(logger, operation, user.Id, "cross-site request");
            return (null, KavachProblems.Create(KavachPolarErrorCodes.CrossSiteRequest, "Cross-site requests are refused."));
        }

        if (!limiter.TryAcquire(operation, user.Id, out var retryAfter))
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return (null, KavachProblems.Create(KavachPolarErrorCodes.RateLimited, "Too many requests; try again later."));
        }

        return (user, null);
    }

    /// <summary>
    /// A browser attaches cookies, and the Basic, Digest, NTLM and Negotiate credentials it remembers, to cross-site
    /// requests on its own. Only a bearer token is something a page must add itself, so every other request must
    /// come from this app's origin (<see cref="KavachPolarOptions.PublicOrigin"/> when set) or an allowed one.
    /// </summary>
    private static bool IsCrossSite(HttpRequest request, string appOrigin, KavachPolarOptions options)
    {
        if (request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            if (string.Equals(origin, appOrigin, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            return !options.AllowedRedirectOrigins.Any(a => string.Equals(a.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
        }

        return string.Equals(request.Headers["Sec-Fetch-Site"].ToString(), "cross-site", StringComparison.OrdinalIgnoreCase);
    }
}
