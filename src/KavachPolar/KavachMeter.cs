namespace KavachPolar;

/// <summary>
/// A user's meter: Polar's customer meter plus what this app recorded that Polar has not counted yet
/// (<see cref="IKavachPolarUsage.GetMeterAsync"/>).
/// </summary>
public sealed record KavachMeter
{
    /// <summary>The Polar meter id.</summary>
    public required string MeterId { get; init; }

    /// <summary>Units consumed since the meter's last reset, as Polar last computed them (0 when Polar has no row yet).</summary>
    public decimal ConsumedUnits { get; init; }

    /// <summary>Units credited since the last reset (meter-credit benefits), as Polar last computed them.</summary>
    public decimal CreditedUnits { get; init; }

    /// <summary>
    /// <see cref="CreditedUnits"/> − <see cref="ConsumedUnits"/> as Polar last computed it: may be negative (Polar never
    /// blocks usage), and lags ingestion by 15 s to 3 h. Subtract <see cref="PendingUnits"/> for what the app knows.
    /// </summary>
    public decimal Balance { get; init; }

    /// <summary>When Polar last computed its row (<c>modified_at ?? created_at</c>); null when it has none yet.</summary>
    public DateTimeOffset? AsOf { get; init; }

    /// <summary>
    /// Events of this user recorded here that Polar's figures do not include yet: not yet accepted by Polar's ingest
    /// (waiting, retried or quarantined are not counted: quarantined events are never sent), or accepted after
    /// <see cref="AsOf"/> (Polar recomputes meters 15 s to 3 h after ingestion). Every event name counts, whether or
    /// not the meter matches it, unless the meter can be evaluated here (see <see cref="PendingUnits"/>), in which case
    /// only matching events count.
    /// </summary>
    public int PendingEvents { get; init; }

    /// <summary>
    /// What those pending events add to <see cref="ConsumedUnits"/>, when the meter can be evaluated here: aggregation
    /// <c>count</c>, or <c>sum</c> over a metadata key, with a filter of <c>eq</c>/<c>ne</c> clauses (and <c>gt</c>,
    /// <c>gte</c>, <c>lt</c>, <c>lte</c> on numbers) over <c>name</c> and metadata keys, nested with and/or. Otherwise
    /// <see langword="null"/> (<c>max</c>, <c>min</c>, <c>avg</c>, <c>unique</c>, <c>like</c>, <c>timestamp</c> filters).
    /// </summary>
    public decimal? PendingUnits { get; init; }
}
