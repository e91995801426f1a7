using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed class CheckoutRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public string Status { get; set; } = "open";
    public required string ClientSecret { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The success URL as given (placeholders un-escaped), or null for the default.</summary>
    public string? SuccessUrl { get; init; }
    public string? ReturnUrl { get; init; }
    public string? EmbedOrigin { get; init; }
    public required IReadOnlyList<string> ProductIds { get; init; }
    public required string ProductId { get; init; }
    public bool AllowTrial { get; init; } = true;
    public string? TrialInterval { get; init; }
    public int? TrialIntervalCount { get; init; }
    public bool AllowDiscountCodes { get; init; } = true;
    public bool RequireBillingAddress { get; init; }
    public bool IsBusinessCustomer { get; init; }
    public string? CustomerId { get; set; }
    public string? CustomerName { get; set; }
    public string? CustomerEmail { get; set; }
    public string? CustomerIpAddress { get; set; }
    public string? CustomerBillingName { get; set; }
    public JsonObject? CustomerBillingAddress { get; set; }
    public string? CustomerTaxId { get; set; }
    public string? Locale { get; set; }
    public string? PaymentMethodType { get; set; }
    public long? TaxAmount { get; set; }
    public JsonObject Metadata { get; init; } = [];
    public JsonObject CustomerMetadata { get; init; } = [];
    public JsonObject CustomFieldData { get; init; } = [];
    public string? ExternalCustomerId { get; init; }

    /// <summary>Whether the customer was linked at creation, which locks the email field.</summary>
    public bool EmailLocked { get; set; }
}
