namespace KavachPolar.Testing.State;

/// <summary>A customer's member (member-model organizations): here only the owner member every customer gets.</summary>
internal sealed class MemberRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string CustomerId { get; init; }
    public required string Email { get; init; }
    public string? Name { get; init; }
    public string? ExternalId { get; init; }
    public string Role { get; init; } = "owner";
}
