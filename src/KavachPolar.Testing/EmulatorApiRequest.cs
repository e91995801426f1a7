namespace KavachPolar.Testing;

/// <summary>One request the emulator's REST API received (<c>/v1/...</c>), in arrival order.</summary>
public sealed class EmulatorApiRequest
{
    /// <summary>The HTTP method.</summary>
    public required string Method { get; init; }

    /// <summary>The path as sent, e.g. <c>/v1/customers/external/usr_1</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The query string with its <c>?</c>, or empty.</summary>
    public required string Query { get; init; }

    /// <inheritdoc />
    public override string ToString() => Method + " " + Path + Query;
}
