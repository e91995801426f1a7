using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>Maps Polar's errors to <see cref="KavachPolarErrorCodes"/>.</summary>
internal static class ResultCodes
{
    public static string For(PolarApiError error) => error.Kind switch
    {
        PolarErrorKind.Validation => KavachPolarErrorCodes.PolarValidationFailed,
        PolarErrorKind.TokenRejected => KavachPolarErrorCodes.PolarTokenRejected,
        PolarErrorKind.Conflict => KavachPolarErrorCodes.PolarConflict,
        PolarErrorKind.NotFound or PolarErrorKind.Rejected => KavachPolarErrorCodes.PolarRejected,
        PolarErrorKind.RateLimited => KavachPolarErrorCodes.PolarRateLimited,
        PolarErrorKind.Unexpected => KavachPolarErrorCodes.PolarUnexpectedResponse,
        _ => KavachPolarErrorCodes.PolarUnavailable,
    };
}
