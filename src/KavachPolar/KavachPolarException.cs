namespace KavachPolar;

/// <summary>
/// A call to Polar that a method returning a value (not a <see cref="KavachPolarResult"/>) could not complete:
/// Polar unreachable or answering 5xx, its rate limit (or this instance's budget of Polar calls), the token refused.
/// </summary>
public sealed class KavachPolarException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">A <see cref="KavachPolarErrorCodes"/> value.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="retryAfter">How long Polar asked to wait, when it did.</param>
    public KavachPolarException(string errorCode, string message, TimeSpan? retryAfter = null)
        : base(message)
    {
        ErrorCode = errorCode;
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception with <see cref="KavachPolarErrorCodes.PolarUnavailable"/>.</summary>
    public KavachPolarException()
        : this(KavachPolarErrorCodes.PolarUnavailable, "Polar could not be reached.")
    {
    }

    /// <summary>Creates the exception with <see cref="KavachPolarErrorCodes.PolarUnavailable"/>.</summary>
    /// <param name="message">What happened.</param>
    public KavachPolarException(string message)
        : this(KavachPolarErrorCodes.PolarUnavailable, message)
    {
    }

    /// <summary>Creates the exception with <see cref="KavachPolarErrorCodes.PolarUnavailable"/>.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public KavachPolarException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorCode = KavachPolarErrorCodes.PolarUnavailable;
    }

    /// <summary>Why: a <see cref="KavachPolarErrorCodes"/> value (<c>polar_unavailable</c>, <c>polar_rate_limited</c>, <c>polar_token_rejected</c>, ...).</summary>
    public string ErrorCode { get; } = KavachPolarErrorCodes.PolarUnavailable;

    /// <summary>How long Polar (or this instance's budget) asked to wait, when it did.</summary>
    public TimeSpan? RetryAfter { get; }
}
