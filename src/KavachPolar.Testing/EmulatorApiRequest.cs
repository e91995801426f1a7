namespace KavachPolar.Testing;

/// <summary>One request the emulator's REST API received (<c>/v1/...</c>), in arrival order.</summary>
public sealed class EmulatorApiRequest
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The HTTP method.</summary>
    public required string Method { get; init; }

    /// <summary>The path as sent, e.g. <c>/v1/customers/external/usr_1</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The query string with its <c>?</c>, or empty.</summary>
    public required string Query { get; init; }

    /// <summary>
    /// The request's headers as received, names case-insensitive, repeated values joined with <c>", "</c>:
    /// e.g. <c>Content-Length</c> and <c>Transfer-Encoding</c>, to check how a client frames its bodies
    /// (Polar refuses a POST, PUT or PATCH without <c>Content-Length</c>). Empty for a request built by hand.
    /// </summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = NoHeaders;

    /// <inheritdoc />
    public override string ToString() => Method + " " + Path + Query;
}
