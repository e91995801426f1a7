using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>One ingested user event (<c>models/event.py</c>).</summary>
internal sealed class EventRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>When the emulator stored it; meters are windowed by this, not by <see cref="Timestamp"/>.</summary>
    public required DateTimeOffset IngestedAt { get; init; }

    public string? CustomerId { get; init; }

    public string? ExternalCustomerId { get; init; }

    public string? MemberId { get; init; }

    public string? ExternalMemberId { get; init; }

    public string? ExternalId { get; init; }

    /// <summary>The <c>parent_id</c> as sent: a Polar event id or an <c>external_id</c>.</summary>
    public string? ParentReference { get; init; }

    /// <summary>The resolved parent's id, once it is known.</summary>
    public string? ParentId { get; set; }

    /// <summary>Whether its chain of parents reaches a root (<c>root_id</c> set): only then is it processed.</summary>
    public bool Rooted { get; set; }

    public required JsonObject Metadata { get; init; }

    /// <summary>A system event (<c>source</c> <c>system</c>, e.g. <c>meter.credited</c>), which Polar creates itself; not ingested.</summary>
    public bool System { get; init; }

    /// <summary>Insertion order, the tie-break between events ingested at the same instant.</summary>
    public required long Sequence { get; init; }

    public EmulatorIngestedEvent ToPublic() => new(Id, Name, Timestamp, IngestedAt, CustomerId, ExternalCustomerId, ExternalId, Metadata.ToJsonString());
}
