namespace KavachPolar.Testing;

/// <summary>
/// A control call that Polar would refuse, carrying the HTTP status and error body Polar would send.
/// </summary>
public sealed class PolarEmulatorException : Exception
{
    /// <summary>Creates an exception with no details.</summary>
    public PolarEmulatorException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public PolarEmulatorException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public PolarEmulatorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal PolarEmulatorException(int statusCode, string errorBody, string message)
        : base(message)
    {
        StatusCode = statusCode;
        ErrorBody = errorBody;
    }

    /// <summary>The HTTP status Polar would answer with.</summary>
    public int StatusCode { get; }

    /// <summary>The JSON error body Polar would answer with.</summary>
    public string? ErrorBody { get; }
}
