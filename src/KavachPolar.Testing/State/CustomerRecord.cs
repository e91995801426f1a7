using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed class CustomerRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }
    public JsonObject Metadata { get; set; } = [];
    public string? ExternalId { get; set; }
    public required string Email { get; set; }
    public string? Name { get; set; }
    public string? BillingName { get; set; }
    public JsonObject? BillingAddress { get; set; }
    public string? Locale { get; set; }
    public string? DefaultPaymentMethodId { get; set; }

    public EmulatorCustomer ToPublic() => new(Id, Email, Name, ExternalId);
}
