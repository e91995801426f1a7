namespace KavachPolar.Testing.State;

/// <summary>The filters of <c>GET /v1/customer-meters/</c>.</summary>
internal sealed class CustomerMeterQuery
{
    public List<string> OrganizationIds { get; init; } = [];

    public List<string> CustomerIds { get; init; } = [];

    public List<string> ExternalCustomerIds { get; init; } = [];

    public List<string> MeterIds { get; init; } = [];

    public List<string> Sorting { get; init; } = ["-modified_at"];

    public int Page { get; init; } = 1;

    public int Limit { get; init; } = 10;
}
