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
