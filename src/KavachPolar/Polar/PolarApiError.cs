namespace KavachPolar.Polar;

internal sealed record PolarApiError(
    PolarErrorKind Kind,
    int? StatusCode,
    string? Code,
    IReadOnlyList<PolarFieldError> FieldErrors,
    TimeSpan? RetryAfter,
    string? Detail);
