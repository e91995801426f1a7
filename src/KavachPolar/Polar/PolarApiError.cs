namespace KavachPolar.Polar;

/// <summary>What went wrong talking to Polar, classified for mapping to our own HTTP answers.</summary>
internal enum PolarErrorKind
{
    /// <summary>422: Polar's validation errors, with field paths.</summary>
    Validation,

    /// <summary>401/403: the token is unknown, revoked, for the other environment, or lacks a scope.</summary>
    TokenRejected,

    /// <summary>404.</summary>
    NotFound,

    /// <summary>409.</summary>
    Conflict,

    /// <summary>Another 4xx (400, 402, 403 from a business rule...).</summary>
    Rejected,

    /// <summary>429: Polar's rate limit.</summary>
    RateLimited,

    /// <summary>5xx, a timeout, or no connection.</summary>
    Unavailable,

    /// <summary>A 3xx or a body we could not read: a bug in our paths or a proxy in the way.</summary>
    Unexpected,
}

/// <summary>One of Polar's validation errors: a dotted field path and Polar's message.</summary>
internal sealed record PolarFieldError(string Field, string Message, string? Type);

internal sealed record PolarApiError(
    PolarErrorKind Kind,
    int? StatusCode,
    string? Code,
    IReadOnlyList<PolarFieldError> FieldErrors,
    TimeSpan? RetryAfter,
    string? Detail);

/// <summary>A Polar call's value or its error; expected failures are values, not exceptions.</summary>
internal readonly record struct PolarResult<T>(T? Value, PolarApiError? Error)
{
    public bool IsSuccess => Error is null;

    public static PolarResult<T> Success(T value) => new(value, null);

    public static PolarResult<T> Failure(PolarApiError error) => new(default, error);
}
