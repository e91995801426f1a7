using System.Globalization;
using KavachPolar.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// The endpoint filter in front of every user route. It answers for the route, in order, when the caller is not
/// signed in (401) and, on a route that changes state (an <paramref name="operation"/>), when the request is cross-site without a bearer token (403) or
/// over the per-user rate limit for <paramref name="operation"/> (429 with <c>Retry-After</c>). Otherwise it hands the
/// route its <see cref="RequestUser"/> (<see cref="RequestUser.Of"/>).
/// </summary>
/// <param name="operation">
/// The route's rate-limit partition and the name its refusals are logged with; <see langword="null"/> for a read, where
/// only the sign-in is checked.
/// </param>
internal sealed class UserRequestGuard(string? operation) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<KavachPolarOptions>>().CurrentValue;
        var user = RequestUser.From(context, options);
        if (user is null)
        {
            return KavachProblems.Unauthorized();
        }

        if (operation is not null && Refuse(context, user, operation, options) is { } refused)
        {
            return refused;
        }

        context.Features.Set(user);
        return await next(invocation).ConfigureAwait(false);
    }

    private static ProblemHttpResult? Refuse(HttpContext context, RequestUser user, string operation, KavachPolarOptions options)
    {
        if (IsCrossSite(context.Request, AppOrigin.Of(context.Request, options), options))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<UserRequestGuard>();
            Log.RequestRefused(logger, operation, user.Id, "cross-site request");
            return KavachProblems.Create(KavachPolarErrorCodes.CrossSiteRequest, "Cross-site requests are refused.");
        }

        if (!context.RequestServices.GetRequiredService<UserRateLimiter>().TryAcquire(operation, user.Id, out var retryAfter))
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return KavachProblems.Create(KavachPolarErrorCodes.RateLimited, "Too many requests; try again later.");
        }

        return null;
    }

    /// <summary>
    /// A browser attaches cookies, and the Basic, Digest, NTLM and Negotiate credentials it remembers, to cross-site
    /// requests on its own. Only a bearer token is something a page must add itself, so every other request must
    /// come from this app's origin (<see cref="KavachPolarOptions.PublicOrigin"/> when set) or a trusted one
    /// (<see cref="KavachPolarOptions.TrustedOrigins"/>; never a mere redirect target of
    /// <see cref="KavachPolarOptions.AllowedRedirectOrigins"/>).
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

            return !options.TrustedOrigins.Any(a => string.Equals(a.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
        }

        return string.Equals(request.Headers["Sec-Fetch-Site"].ToString(), "cross-site", StringComparison.OrdinalIgnoreCase);
    }
}
