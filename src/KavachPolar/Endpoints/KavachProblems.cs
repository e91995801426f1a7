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

    public static ProblemHttpResult Unauthorized() =>
        Create(StatusCodes.Status401Unauthorized, "unauthenticated", "Sign in first.");

    public static ProblemHttpResult StoreUnavailable() =>
        Create(StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The database is unavailable; try again shortly.");
}
