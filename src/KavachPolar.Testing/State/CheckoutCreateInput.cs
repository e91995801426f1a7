using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>A validated <c>CheckoutProductsCreate</c> body.</summary>
internal sealed record CheckoutCreateInput
{
    public required IReadOnlyList<string> ProductIds { get; init; }
    public string? CustomerId { get; init; }
    public string? ExternalCustomerId { get; init; }
    public string? CustomerEmail { get; init; }
    public string? CustomerName { get; init; }
    public string? CustomerIpAddress { get; init; }
    public string? CustomerBillingName { get; init; }
    public string? CustomerTaxId { get; init; }
    public string? Locale { get; init; }
    public string? SuccessUrl { get; init; }
    public string? ReturnUrl { get; init; }
    public string? EmbedOrigin { get; init; }
    public bool AllowTrial { get; init; } = true;
    public string? TrialInterval { get; init; }
    public int? TrialIntervalCount { get; init; }
    public bool AllowDiscountCodes { get; init; } = true;
    public bool RequireBillingAddress { get; init; }
    public bool IsBusinessCustomer { get; init; }
    public JsonObject Metadata { get; init; } = [];
    public JsonObject CustomerMetadata { get; init; } = [];
    public JsonObject CustomFieldData { get; init; } = [];
}
