using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>The stable error codes of <see cref="KavachPolarResult"/> and of the HTTP problems.</summary>
internal static class ResultCodes
{
    public static string For(PolarApiError error) => error.Kind switch
    {
        PolarErrorKind.Validation => "polar_validation_failed",
        PolarErrorKind.TokenRejected => "polar_token_rejected",
        PolarErrorKind.Conflict => "polar_conflict",
        PolarErrorKind.NotFound or PolarErrorKind.Rejected => "polar_rejected",
        PolarErrorKind.RateLimited => "polar_rate_limited",
        PolarErrorKind.Unexpected => "polar_unexpected_response",
        _ => "polar_unavailable",
    };
}
