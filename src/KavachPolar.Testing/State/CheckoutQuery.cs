namespace KavachPolar.Testing.State;

/// <summary>The validated filters of <c>GET /v1/checkouts/</c>; an empty list means the filter is not set.</summary>
internal sealed record CheckoutQuery
{
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public IReadOnlyList<string> CustomerIds { get; init; } = [];
    public IReadOnlyList<string> ExternalCustomerIds { get; init; } = [];
    public IReadOnlyList<string> ProductIds { get; init; } = [];
    public IReadOnlyList<string> Statuses { get; init; } = [];

    /// <summary>The <c>query</c> parameter, matched against <c>customer_email</c>.</summary>
    public string? Query { get; init; }
}
