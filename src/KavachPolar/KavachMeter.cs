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
    /// (waiting or being retried; quarantined events are left out, since they are never sent unless replayed), or
    /// accepted after <see cref="AsOf"/> (Polar recomputes meters 15 s to 3 h after ingestion). When the meter can be
    /// evaluated here (see <see cref="PendingUnits"/>) only the events it counts are counted; otherwise every pending
    /// event of the user, whatever its name.
    /// </summary>
    public int PendingEvents { get; init; }

    /// <summary>
    /// What those pending events add to <see cref="ConsumedUnits"/>, when the meter's filter and aggregation can be
    /// evaluated here: aggregation <c>count</c>, or <c>sum</c> over a metadata key; a filter of <c>eq</c>, <c>ne</c>,
    /// <c>gt</c>, <c>gte</c>, <c>lt</c>, <c>lte</c> clauses on <c>name</c> or a (top-level) metadata key, nested with
    /// <c>and</c>/<c>or</c>, compared as Polar's SQL compares them. Otherwise <see langword="null"/>: aggregations
    /// <c>max</c>, <c>min</c>, <c>avg</c> and <c>unique</c>, <c>sum</c> over <c>name</c>, <c>timestamp</c> or
    /// <c>source</c>, filters using <c>like</c>/<c>not_like</c> or on <c>timestamp</c>/<c>source</c>, and a meter whose
    /// definition (<c>GET /v1/meters/{id}</c>) could not be read.
    /// </summary>
    public decimal? PendingUnits { get; init; }
}
