using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>
/// RFC 9457 problem details with a stable machine-readable <c>code</c> (also the last segment of
/// <c>type</c>). Never carries Polar's raw text.
/// </summary>
internal static class KavachProblems
{
    public const string TypePrefix = "https://kavachpolar.dev/problems/";

    public static ProblemHttpResult Create(int status, string code, string title, string? detail = null, IDictionary<string, object?>? extensions = null)
    {
        var ext = extensions is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : new Dictionary<string, object?>(extensions, StringComparer.Ordinal);
        ext["code"] = code;
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + code, extensions: ext);
    }

    /// <summary>The problem for a stable error code of <see cref="KavachPolarResult"/>.</summary>
    public static ProblemHttpResult FromCode(HttpContext context, string code, TimeSpan? retryAfter = null, IDictionary<string, object?>? extensions = null)
    {
        switch (code)
        {
            case "polar_validation_failed":
                return Create(StatusCodes.Status422UnprocessableEntity, code, "The payment provider rejected the request.", null, extensions);
            case "polar_token_rejected":
                return Create(StatusCodes.Status502BadGateway, code, "The payment provider rejected this server's credentials.");
            case "polar_conflict":
                return Create(StatusCodes.Status409Conflict, code, "The payment provider reported a conflict.");
            case "polar_rejected":
                return Create(StatusCodes.Status400BadRequest, code, "The payment provider refused the request.");
            case "polar_rate_limited":
                var wait = retryAfter ?? TimeSpan.FromSeconds(30);
                context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Create(StatusCodes.Status503ServiceUnavailable, code, "The payment provider is busy; try again shortly.");
            case "polar_unexpected_response":
                return Create(StatusCodes.Status502BadGateway, code, "The payment provider answered unexpectedly.");
            case "not_found":
                return Create(StatusCodes.Status404NotFound, code, "Not found.");
            case "no_subscription":
                return Create(StatusCodes.Status404NotFound, code, "There is no current subscription.");
            default:
                return Create(StatusCodes.Status502BadGateway, "polar_unavailable", "The payment provider is unavailable; try again shortly.");
        }
    }

    public static ProblemHttpResult Unauthorized() =>
        Create(StatusCodes.Status401Unauthorized, "unauthenticated", "Sign in first.");

    /// <summary>503 with <c>Retry-After</c>: the database did not answer in time.</summary>
    public static ProblemHttpResult StoreUnavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "5";
        return Create(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The database is unavailable; try again shortly.");
    }
}
