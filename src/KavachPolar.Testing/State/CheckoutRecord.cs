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
    public string? SuccessUrl { get; set; }
    public string? ReturnUrl { get; set; }
    public string? EmbedOrigin { get; set; }
    public required IReadOnlyList<string> ProductIds { get; init; }
    public required string ProductId { get; set; }
    public bool AllowTrial { get; set; } = true;
    public string? TrialInterval { get; set; }
    public int? TrialIntervalCount { get; set; }
    public bool AllowDiscountCodes { get; set; } = true;
    public bool RequireBillingAddress { get; set; }
    public bool IsBusinessCustomer { get; set; }
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
    public JsonObject Metadata { get; set; } = [];
    public JsonObject CustomerMetadata { get; set; } = [];
    public JsonObject CustomFieldData { get; set; } = [];
    public string? ExternalCustomerId { get; init; }

    /// <summary>Whether the customer was linked at creation, which locks the email field.</summary>
    public bool EmailLocked { get; set; }
}
