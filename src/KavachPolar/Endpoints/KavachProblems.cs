using System.Globalization;
using KavachPolar.Polar;
using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>
/// RFC 9457 problem details with a stable machine-readable <c>code</c> (a <see cref="KavachPolarErrorCodes"/>
/// value, also the last segment of <c>type</c>). Never carries Polar's raw text.
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

    /// <summary>The problem for a Polar error: its code, and for 422 Polar's field paths and messages.</summary>
    public static ProblemHttpResult FromPolarError(HttpContext context, PolarApiError error)
    {
        var extensions = error.Kind == PolarErrorKind.Validation
            ? new Dictionary<string, object?> { ["errors"] = error.FieldErrors.Select(f => new Dictionary<string, string> { ["field"] = f.Field, ["message"] = f.Message }).ToList() }
            : null;
        return FromCode(context, ResultCodes.For(error), error.RetryAfter, extensions);
    }

    /// <summary>The problem for a <see cref="KavachPolarErrorCodes"/> value.</summary>
    /// <exception cref="InvalidOperationException">An unknown code: a bug, answered 500.</exception>
    public static ProblemHttpResult FromCode(HttpContext context, string code, TimeSpan? retryAfter = null, IDictionary<string, object?>? extensions = null, KavachSubscription? subscription = null)
    {
        switch (code)
        {
            case KavachPolarErrorCodes.PolarValidationFailed:
                return Create(StatusCodes.Status422UnprocessableEntity, code, "The payment provider rejected the request.", null, extensions);
            case KavachPolarErrorCodes.PolarTokenRejected:
                return Create(StatusCodes.Status502BadGateway, code, "The payment provider rejected this server's credentials.");
            case KavachPolarErrorCodes.PolarConflict:
                return Create(StatusCodes.Status409Conflict, code, "The payment provider reported a conflict.");
            case KavachPolarErrorCodes.PolarRejected:
                return Create(StatusCodes.Status400BadRequest, code, "The payment provider refused the request.");
            case KavachPolarErrorCodes.PolarRateLimited:
                SetRetryAfter(context, retryAfter ?? TimeSpan.FromSeconds(30));
                return Create(StatusCodes.Status503ServiceUnavailable, code, "The payment provider is busy; try again shortly.");
            case KavachPolarErrorCodes.PolarUnexpectedResponse:
                return Create(StatusCodes.Status502BadGateway, code, "The payment provider answered unexpectedly.");
            case KavachPolarErrorCodes.PolarUnavailable:
                return Create(StatusCodes.Status502BadGateway, code, "The payment provider is unavailable; try again shortly.");
            case KavachPolarErrorCodes.NotFound:
                return Create(StatusCodes.Status404NotFound, code, "Not found.");
            case KavachPolarErrorCodes.NoSubscription:
                return Create(StatusCodes.Status409Conflict, code, "There is no current subscription.");
            case KavachPolarErrorCodes.NoCustomer:
                return Create(StatusCodes.Status409Conflict, code, "There is no billing account yet.", "Subscribe first.");
            case KavachPolarErrorCodes.UnknownProduct:
                return Create(StatusCodes.Status400BadRequest, code, "Unknown product.", "productId must be a Polar product id (a UUID) or, when products are configured, one of their slugs.");
            case KavachPolarErrorCodes.SuccessUrlNotAllowed:
                return Create(StatusCodes.Status400BadRequest, code, "The success URL is not allowed.", "Use a path on this site or an absolute URL on an origin listed in KavachPolar:AllowedRedirectOrigins.");
            case KavachPolarErrorCodes.SubscriptionRequired:
                return Create(StatusCodes.Status403Forbidden, code, "A subscription is required.");
            case KavachPolarErrorCodes.EmailRequired:
                return Create(StatusCodes.Status400BadRequest, code, "An email address is required.", "The signed-in user has no email claim, and Polar needs one to create their customer.");
            case KavachPolarErrorCodes.CustomerConflict:
                return Create(StatusCodes.Status409Conflict, code, "This email address belongs to another billing account.", "The site's operator has been told which billing account to look at.");
            case KavachPolarErrorCodes.UserForgotten:
                return Create(StatusCodes.Status409Conflict, code, "This account was removed from billing.");
            case KavachPolarErrorCodes.AlreadySubscribed:
                return Create(
                    StatusCodes.Status409Conflict,
                    code,
                    "You already have a subscription.",
                    "Change plan instead of starting a second checkout.",
                    new Dictionary<string, object?>
                    {
                        // As a JsonElement, so that the host's JSON options (source-generated only, say) need not know the type.
                        ["subscription"] = subscription is null ? null : System.Text.Json.JsonSerializer.SerializeToElement(subscription, KavachJsonContext.Default.KavachSubscription),
                    });
            case KavachPolarErrorCodes.StoreUnavailable:
                return StoreUnavailable(context);
            default:
                throw new InvalidOperationException("Unknown KavachPolar error code '" + code + "'.");
        }
    }

    public static ProblemHttpResult Unauthorized() =>
        Create(StatusCodes.Status401Unauthorized, KavachPolarErrorCodes.Unauthenticated, "Sign in first.");

    /// <summary>503 with <c>Retry-After</c>: the database did not answer in time.</summary>
    public static ProblemHttpResult StoreUnavailable(HttpContext context)
    {
        SetRetryAfter(context, TimeSpan.FromSeconds(5));
        return Create(StatusCodes.Status503ServiceUnavailable, KavachPolarErrorCodes.StoreUnavailable, "The database is unavailable; try again shortly.");
    }

    private static void SetRetryAfter(HttpContext context, TimeSpan wait) =>
        context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
