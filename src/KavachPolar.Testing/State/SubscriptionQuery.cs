namespace KavachPolar.Testing.State;

/// <summary>The filters, sorting and page of <c>GET /v1/subscriptions/</c>.</summary>
internal sealed record SubscriptionQuery
{
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public IReadOnlyList<string> CustomerIds { get; init; } = [];
    public IReadOnlyList<string> ExternalCustomerIds { get; init; } = [];
    public IReadOnlyList<string> ProductIds { get; init; } = [];
    public IReadOnlyList<string> Statuses { get; init; } = [];
    public bool? Active { get; init; }
    public bool? CancelAtPeriodEnd { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];
    public IReadOnlyList<string> Sorting { get; init; } = ["-started_at"];
    public int Page { get; init; } = 1;
    public int Limit { get; init; } = 10;
}
