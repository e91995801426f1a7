using Microsoft.AspNetCore.Http;

namespace KavachPolar;

/// <summary>
/// The HTTP status of each <see cref="KavachPolarErrorCodes"/> value, the one place it is decided. A code missing here
/// is a bug: <see cref="For"/> throws rather than guess.
/// </summary>
internal static class KavachPolarErrorStatuses
{
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not a <see cref="KavachPolarErrorCodes"/> value.</exception>
    public static int For(string code) => code switch
    {
        KavachPolarErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        KavachPolarErrorCodes.CrossSiteRequest => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        KavachPolarErrorCodes.InvalidBody => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.BodyTooLarge => StatusCodes.Status413PayloadTooLarge,
        KavachPolarErrorCodes.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        KavachPolarErrorCodes.UnknownProduct => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.SuccessUrlNotAllowed => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.EmailRequired => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.CustomerConflict => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.AlreadySubscribed => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.UserForgotten => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.NoSubscription => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.NoCustomer => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.SubscriptionRequired => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.BenefitRequired => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.PurchaseRequired => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.AlreadyPurchased => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.InvoiceBillingDetailsMissing => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.InvalidProration => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.NotFound => StatusCodes.Status404NotFound,
        KavachPolarErrorCodes.StoreUnavailable => StatusCodes.Status503ServiceUnavailable,
        KavachPolarErrorCodes.MissingHeader => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.RepeatedHeader => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.MalformedHeaders => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.BodyIncomplete => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.TimestampOutOfTolerance => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.InvalidSignature => StatusCodes.Status403Forbidden,
        KavachPolarErrorCodes.PolarValidationFailed => StatusCodes.Status422UnprocessableEntity,
        KavachPolarErrorCodes.PolarTokenRejected => StatusCodes.Status502BadGateway,
        KavachPolarErrorCodes.PolarConflict => StatusCodes.Status409Conflict,
        KavachPolarErrorCodes.PolarRejected => StatusCodes.Status400BadRequest,
        KavachPolarErrorCodes.PolarRateLimited => StatusCodes.Status503ServiceUnavailable,
        KavachPolarErrorCodes.PolarUnavailable => StatusCodes.Status502BadGateway,
        KavachPolarErrorCodes.PolarUnexpectedResponse => StatusCodes.Status502BadGateway,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unknown KavachPolar error code."),
    };
}
