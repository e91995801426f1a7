namespace KavachPolar.Testing;

/// <summary>A meter of the emulator's organization.</summary>
/// <param name="Id">The meter id.</param>
/// <param name="Name">The meter's name.</param>
/// <param name="Filter">The filter, as Polar's API returns it (JSON).</param>
/// <param name="Aggregation">The aggregation, as Polar's API returns it (JSON).</param>
public sealed record EmulatorMeter(string Id, string Name, string Filter, string Aggregation);
