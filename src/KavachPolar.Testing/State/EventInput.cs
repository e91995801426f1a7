using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>One <c>EventCreate</c> of an ingest batch after request validation.</summary>
internal sealed record EventInput(
    string Name,
    DateTimeOffset? Timestamp,
    string? OrganizationId,
    string? CustomerId,
    string? MemberId,
    string? ExternalCustomerId,
    string? ExternalMemberId,
    string? ExternalId,
    string? ParentReference,
    JsonObject Metadata);
