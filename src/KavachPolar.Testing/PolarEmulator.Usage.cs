namespace KavachPolar.Testing;

/// <summary>Usage-based billing: ingested events, meters and customer meters (issue 25).</summary>
public sealed partial class PolarEmulator
{
    /// <summary>The id of the demo meter "AI tokens" (the sum of metadata <c>tokens</c> over events named <c>ai.summary</c>).</summary>
    public const string DemoMeterId = "a3c4e5f6-1b2c-4d3e-8f4a-5b6c7d8e9fa0";

    /// <summary>The event name the demo meter counts.</summary>
    public const string DemoMeterEventName = "ai.summary";

    private static readonly EmulatorMeterDefinition[] DemoMeters = [DemoMeter()];

    private readonly ITimer _meterTimer;

    /// <summary>The organization's meters, in creation order.</summary>
    public IReadOnlyList<EmulatorMeter> Meters => _store.PublicMeters;

    /// <summary>
    /// Every event <c>POST /v1/events/ingest</c> stored, in ingestion order. A duplicate (an <c>external_id</c> seen
    /// before) is not stored again, and a refused batch stores nothing: compare this with what an app recorded.
    /// </summary>
    public IReadOnlyList<EmulatorIngestedEvent> IngestedEvents => _store.PublicEvents;

    private static EmulatorMeterDefinition DemoMeter()
    {
        var meter = EmulatorMeterDefinition.ForEvent("AI tokens", DemoMeterEventName, "sum", "tokens");
        meter.Id = DemoMeterId;
        meter.Unit = "token";
        return meter;
    }

    /// <summary>What Polar's <c>MeterCreate</c> would refuse in the configured meters.</summary>
    private static void ValidateMeters(PolarEmulatorOptions options)
    {
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var meter in options.Meters)
        {
            if (meter is null)
            {
                throw new ArgumentException("Meters contains null.", nameof(options));
            }

            if (meter.Id is { } id && (!State.Ids.IsUuid4(id) || !ids.Add(id)))
            {
                throw new ArgumentException($"Meter '{meter.Name}': Id must be a UUID version 4 used by no other meter, not '{id}'.", nameof(options));
            }

            if (meter.Unit is not ("scalar" or "token" or "custom"))
            {
                throw new ArgumentException($"Meter '{meter.Name}': Unit must be scalar, token or custom, not '{meter.Unit}'.", nameof(options));
            }

            if ((meter.Unit == "custom") != (meter.CustomLabel is not null))
            {
                throw new ArgumentException($"Meter '{meter.Name}': a custom unit needs a CustomLabel, and only a custom unit may have one.", nameof(options));
            }
        }
    }
}
