namespace KavachPolar.Testing.State;

/// <summary>A customer's row for one meter (<c>models/customer_meter.py</c>).</summary>
internal sealed class CustomerMeterRecord
{
    public required string Id { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? ModifiedAt { get; set; }

    public required string CustomerId { get; init; }

    public required string MeterId { get; init; }

    /// <summary>Null for a row created by a recompute that found no matching event: such a row is listed, with zeros, and
    /// never recomputed until an ingested event matches its meter.</summary>
    public DateTimeOffset? ActivatedAt { get; set; }

    public string? LastBalancedEventId { get; set; }

    public double ConsumedUnits { get; set; }

    public long CreditedUnits { get; set; }

    public double Balance { get; set; }
}
