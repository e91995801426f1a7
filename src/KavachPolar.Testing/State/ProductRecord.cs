using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed class ProductRecord
{
    public required string Id { get; init; }
    public required string PriceId { get; init; }
    public IReadOnlyList<string> BenefitIds { get; init; } = [];
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required long PriceAmount { get; init; }
    public required string Currency { get; init; }
    /// <summary>Null for a one-time product.</summary>
    public required string? RecurringInterval { get; init; }

    /// <summary>Null for a one-time product.</summary>
    public required int? RecurringIntervalCount { get; init; }
    public bool IsRecurring => RecurringInterval is not null;
    public string? TrialInterval { get; init; }
    public int? TrialIntervalCount { get; init; }
    public JsonObject Metadata { get; init; } = [];

    public EmulatorProduct ToPublic() =>
        new(Id, PriceId, Name, PriceAmount, Currency, RecurringInterval, RecurringIntervalCount, TrialInterval, TrialIntervalCount, BenefitIds);
}
