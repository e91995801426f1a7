using System.Globalization;
using System.Text.Json;
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

    /// <summary>The problem for <paramref name="code"/>, with its status from <see cref="KavachPolarErrorStatuses"/>.</summary>
    public static ProblemHttpResult Create(string code, string title, string? detail = null, IDictionary<string, object?>? extensions = null)
    {
        var ext = extensions is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : new Dictionary<string, object?>(extensions, StringComparer.Ordinal);
        ext["code"] = code;
        return TypedResults.Problem(detail: detail, statusCode: KavachPolarErrorStatuses.For(code), title: title, type: TypePrefix + code, extensions: ext);
    }

    /// <summary>The problem for a Polar error: its code, and for 422 Polar's field paths and messages.</summary>
    public static ProblemHttpResult FromPolarError(HttpContext context, PolarApiError error)
    {
        var extensions = error.Kind == PolarErrorKind.Validation
            ? new Dictionary<string, object?> { ["errors"] = error.FieldErrors.Select(f => new Dictionary<string, string> { ["field"] = f.Field, ["message"] = f.Message }).ToList() }
            : null;
        return FromCode(context, ResultCodes.For(error), error.RetryAfter, extensions);
    }

    /// <summary>The problem for a <see cref="KavachPolarErrorCodes"/> value that a service returns.</summary>
    /// <exception cref="InvalidOperationException">A code no service returns: a bug, answered 500.</exception>
    public static ProblemHttpResult FromCode(HttpContext context, string code, TimeSpan? retryAfter = null, IDictionary<string, object?>? extensions = null, KavachSubscription? subscription = null)
    {
        if (code == KavachPolarErrorCodes.StoreUnavailable)
        {
            return StoreUnavailable(context);
        }

        var (title, detail) = TitleOf(code);
        if (code == KavachPolarErrorCodes.PolarRateLimited)
        {
            SetRetryAfter(context, retryAfter ?? TimeSpan.FromSeconds(30));
        }

        extensions = code switch
        {
            KavachPolarErrorCodes.PolarValidationFailed => extensions,
            // As a JsonElement, so that the host's JSON options (source-generated only, say) need not know the type.
            KavachPolarErrorCodes.AlreadySubscribed => new Dictionary<string, object?> { ["subscription"] = subscription is null ? null : JsonSerializer.SerializeToElement(subscription, KavachJsonContext.Default.KavachSubscription) },
            _ => null,
        };
        return Create(code, title, detail, extensions);
    }

    public static ProblemHttpResult Unauthorized() =>
        Create(KavachPolarErrorCodes.Unauthenticated, "Sign in first.");

    /// <summary>503 with <c>Retry-After</c>: the database did not answer in time.</summary>
    public static ProblemHttpResult StoreUnavailable(HttpContext context)
    {
        SetRetryAfter(context, TimeSpan.FromSeconds(5));
        return Create(KavachPolarErrorCodes.StoreUnavailable, "The database is unavailable; try again shortly.");
    }

    private static void SetRetryAfter(HttpContext context, TimeSpan wait) =>
        context.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static (string Title, string? Detail) TitleOf(string code) => code switch
    {
        KavachPolarErrorCodes.PolarValidationFailed => ("The payment provider rejected the request.", null),
        KavachPolarErrorCodes.PolarTokenRejected => ("The payment provider rejected this server's credentials.", null),
        KavachPolarErrorCodes.PolarConflict => ("The payment provider reported a conflict.", null),
        KavachPolarErrorCodes.PolarRejected => ("The payment provider refused the request.", null),
        KavachPolarErrorCodes.PolarRateLimited => ("The payment provider is busy; try again shortly.", null),
        KavachPolarErrorCodes.PolarUnexpectedResponse => ("The payment provider answered unexpectedly.", null),
        KavachPolarErrorCodes.PolarUnavailable => ("The payment provider is unavailable; try again shortly.", null),
        KavachPolarErrorCodes.NotFound => ("Not found.", null),
        KavachPolarErrorCodes.NoSubscription => ("There is no current subscription.", null),
        KavachPolarErrorCodes.NoCustomer => ("There is no billing account yet.", "Subscribe first."),
        KavachPolarErrorCodes.UnknownProduct => ("Unknown product.", "productId must be a Polar product id (a UUID) or, when products are configured, one of their slugs."),
        KavachPolarErrorCodes.SuccessUrlNotAllowed => ("The success URL is not allowed.", "Use a path on this site or an absolute URL on an origin listed in KavachPolar:AllowedRedirectOrigins."),
        KavachPolarErrorCodes.SubscriptionRequired => ("A subscription is required.", null),
        KavachPolarErrorCodes.BenefitRequired => ("This needs a benefit of a product you have not bought (or whose access has ended).", null),
        KavachPolarErrorCodes.PurchaseRequired => ("This needs a product you have not bought (or whose purchase was refunded).", null),
        KavachPolarErrorCodes.AlreadyPurchased => ("You have already bought this product.", "It can be bought once."),
        KavachPolarErrorCodes.InvoiceBillingDetailsMissing => ("The invoice cannot be made yet.", "An invoice needs a billing name and address, and this order has not both. Add them in the customer portal (Manage billing), then ask again."),
        KavachPolarErrorCodes.EmailRequired => ("An email address is required.", "The signed-in user has no email claim, and Polar needs one to create their customer."),
        KavachPolarErrorCodes.CustomerConflict => ("This email address belongs to another billing account.", "The site's operator has been told which billing account to look at."),
        KavachPolarErrorCodes.UserForgotten => ("This account was removed from billing.", null),
        KavachPolarErrorCodes.AlreadySubscribed => ("You already have a subscription.", "Change plan instead of starting a second checkout."),
        _ => throw new InvalidOperationException("Unknown KavachPolar error code '" + code + "'."),
    };
}
