namespace KavachPolar.Testing.State;

internal sealed class CustomerSessionRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Token { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public string? ReturnUrl { get; init; }
    public required string CustomerId { get; init; }
}
