namespace KavachPolar.Testing.Api;

/// <summary>A pending fault set by <see cref="PolarEmulator.InjectFault"/>.</summary>
internal sealed class InjectedFault(HttpMethod method, string pathPrefix, int statusCode, int count, TimeSpan? retryAfter)
{
    public HttpMethod Method { get; } = method;

    public string PathPrefix { get; } = pathPrefix;

    public int StatusCode { get; } = statusCode;

    public int Remaining { get; set; } = count;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}
