using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>
/// Meter-credit benefits (<c>benefit/strategies/meter_credit/service.py</c>): Polar's system events
/// <c>meter.credited</c> and <c>meter.reset</c> (<c>event/system.py</c>), created with the customer's id.
/// </summary>
internal sealed partial class EmulatorStore
{
    public const string MeterCreditedEvent = "meter.credited";

    public const string MeterResetEvent = "meter.reset";

    private static bool IsMeterSystemEvent(EventRecord e, string customerId, string meterId) =>
        e.System && e.CustomerId == customerId && e.Name is MeterCreditedEvent or MeterResetEvent
        && e.Metadata["meter_id"]?.GetValue<string>() == meterId;

    /// <summary><c>get_latest_meter_reset</c>: the customer's latest <c>meter.reset</c> for the meter, by timestamp.</summary>
    private EventRecord? LatestMeterReset(string customerId, string meterId) =>
        _events.Where(e => e.System && e.Name == MeterResetEvent && e.CustomerId == customerId && e.Metadata["meter_id"]?.GetValue<string>() == meterId)
            .OrderBy(e => e.Timestamp).ThenBy(e => e.Sequence).LastOrDefault();

    /// <summary>An integer however it was stored (an int or a long node).</summary>
    private static long Long(JsonNode node) => long.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>kit/math.py non_negative_running_sum</c>: a sum that a negative value never takes below zero.</summary>
    private static long NonNegativeRunningSum(IEnumerable<long> values)
    {
        long sum = 0;
        foreach (var v in values)
        {
            sum = Math.Max(0, sum + v);
        }

        return sum;
    }

    /// <summary><c>build_system_event</c> + <c>event_service.create_event</c>: a system event of the customer, stored now.</summary>
    private EventRecord AddSystemEvent(string customerId, string name, JsonObject metadata)
    {
        var now = Now;
        var record = new EventRecord
        {
            Id = Ids.NewUuid(),
            Name = name,
            Timestamp = now,
            IngestedAt = now,
            CustomerId = customerId,
            Rooted = true,
            Metadata = metadata,
            Sequence = _events.Count,
            System = true,
        };
        _events.Add(record);
        _eventsById[record.Id] = record;
        return record;
    }

    /// <summary>
    /// <c>_create_event</c>: <c>meter.credited</c> with the units (negative on revoke) and the benefit's rollover, then the
    /// customer's meter is updated at once, activated; the grant's properties record what was credited.
    /// </summary>
    private JsonObject CreditMeter(string customerId, string meterId, long units, bool rollover)
    {
        AddSystemEvent(customerId, MeterCreditedEvent, new JsonObject { ["meter_id"] = meterId, ["units"] = units, ["rollover"] = rollover });
        if (_meters.FirstOrDefault(m => m.Id == meterId) is { } meter)
        {
            UpdateCustomerMeter(_customers[customerId], meter, activate: true);
        }

        return new JsonObject
        {
            ["last_credited_meter_id"] = meterId,
            ["last_credited_units"] = units,
            ["last_credited_at"] = IsoFormat(Now),
        };
    }

    private static (string MeterId, long Units, bool Rollover) MeterCreditProperties(BenefitRecord b) =>
        (b.Properties["meter_id"]!.GetValue<string>(), Long(b.Properties["units"]!), b.Properties["rollover"]!.GetValue<bool>());

    /// <summary>The strategy's <c>grant</c>: credits the benefit's units.</summary>
    private JsonObject GrantMeterCredit(BenefitRecord b, BenefitGrantRecord g)
    {
        var (meterId, units, rollover) = MeterCreditProperties(b);
        return CreditMeter(g.CustomerId, meterId, units, rollover);
    }

    /// <summary>
    /// The strategy's <c>cycle</c>: unless the meter was reset since the last credit, <c>meter.reset</c>, then the unused
    /// rolled-over credits (<c>get_rollover_units</c>) credited again as rollover; then the benefit's units.
    /// </summary>
    private JsonObject CycleMeterCredit(BenefitRecord b, BenefitGrantRecord g)
    {
        var (meterId, units, rollover) = MeterCreditProperties(b);
        var reset = LatestMeterReset(g.CustomerId, meterId);
        var lastCreditedAt = g.Properties["last_credited_at"]?.GetValue<string>() is { } at ? DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture) : DateTimeOffset.MinValue;
        if (reset is null || reset.IngestedAt < lastCreditedAt)
        {
            var carried = _meters.FirstOrDefault(m => m.Id == meterId) is { } meter ? RolloverUnits(_customers[g.CustomerId], meter) : 0;
            AddSystemEvent(g.CustomerId, MeterResetEvent, new JsonObject { ["meter_id"] = meterId });
            if (carried > 0)
            {
                AddSystemEvent(g.CustomerId, MeterCreditedEvent, new JsonObject { ["meter_id"] = meterId, ["units"] = carried, ["rollover"] = true });
            }
        }

        return CreditMeter(g.CustomerId, meterId, units, rollover);
    }

    /// <summary>
    /// <c>get_rollover_units</c>: with an event in the current window, the balance (non-rollover credits + rollover credits
    /// − usage), at most the rollover credits and at least 0.
    /// </summary>
    private long RolloverUnits(CustomerRecord customer, MeterRecord meter)
    {
        var reset = LatestMeterReset(customer.Id, meter.Id);
        var window = _events.Where(e => e.Rooted && BelongsTo(e, customer) && (reset is null || e.IngestedAt >= reset.Timestamp)).ToList();
        var matching = window.Where(meter.Rules.Matches).ToList();
        var credits = window.Where(e => IsMeterSystemEvent(e, customer.Id, meter.Id) && e.Name == MeterCreditedEvent).OrderBy(e => e.Timestamp).ThenBy(e => e.Sequence).ToList();
        if (matching.Count == 0 && credits.Count == 0 && !window.Any(e => IsMeterSystemEvent(e, customer.Id, meter.Id)))
        {
            return 0;
        }

        var nonRollover = NonNegativeRunningSum(credits.Where(e => !e.Metadata["rollover"]!.GetValue<bool>()).Select(e => Long(e.Metadata["units"]!)));
        var rollover = NonNegativeRunningSum(credits.Where(e => e.Metadata["rollover"]!.GetValue<bool>()).Select(e => Long(e.Metadata["units"]!)));
        var balance = nonRollover + rollover - meter.Rules.Aggregate(matching);
        return Math.Max(0, Math.Min((long)balance, rollover));
    }

    /// <summary>
    /// The strategy's <c>revoke</c>: nothing when the grant never credited; otherwise the last credited units debited
    /// (a <c>meter.credited</c> with their negative).
    /// </summary>
    private JsonObject RevokeMeterCredit(BenefitRecord b, BenefitGrantRecord g)
    {
        if (g.Properties["last_credited_meter_id"]?.GetValue<string>() is not { } meterId)
        {
            return (JsonObject)g.Properties.DeepClone();
        }

        var (_, units, rollover) = MeterCreditProperties(b);
        var last = g.Properties["last_credited_units"] is { } lastUnits ? Long(lastUnits) : units;
        return CreditMeter(g.CustomerId, meterId, -last, rollover);
    }
}
