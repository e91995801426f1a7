using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>A meter of the organization (<c>models/meter.py</c>).</summary>
internal sealed class MeterRecord
{
    public required string Id { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string Name { get; init; }

    public required string Unit { get; init; }

    public string? CustomLabel { get; init; }

    public int? CustomMultiplier { get; init; }

    public required MeterRules Rules { get; init; }

    public JsonObject Metadata { get; init; } = [];

    public DateTimeOffset? ArchivedAt { get; init; }

    public EmulatorMeter ToPublic() => new(Id, Name, Rules.Filter.ToJsonString(), Rules.Aggregation.ToJsonString());
}
