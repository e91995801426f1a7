namespace KavachPolar.Testing;

/// <summary>A usage event <c>POST /v1/events/ingest</c> stored (duplicates are not stored again).</summary>
/// <param name="Id">Polar's id for the event.</param>
/// <param name="Name">The event's name.</param>
/// <param name="Timestamp">The event's timestamp (the ingestion time when none was sent).</param>
/// <param name="IngestedAt">When the emulator stored it, on its business clock.</param>
/// <param name="CustomerId">The <c>customer_id</c> it was sent with, if any.</param>
/// <param name="ExternalCustomerId">The <c>external_customer_id</c> it was sent with, if any.</param>
/// <param name="ExternalId">The sender's <c>external_id</c> (the deduplication key), if any.</param>
/// <param name="Metadata">The metadata as sent (JSON).</param>
public sealed record EmulatorIngestedEvent(
    string Id,
    string Name,
    DateTimeOffset Timestamp,
    DateTimeOffset IngestedAt,
    string? CustomerId,
    string? ExternalCustomerId,
    string? ExternalId,
    string Metadata);
