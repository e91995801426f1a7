using System.Diagnostics;

namespace KavachPolar.Diagnostics;

/// <summary>
/// KavachPolar's <see cref="ActivitySource"/> and the name of its meter (<see cref="KavachPolarMetrics"/>), both
/// <c>KavachPolar</c>: add them to OpenTelemetry with <c>AddSource("KavachPolar")</c> and <c>AddMeter("KavachPolar")</c>.
/// </summary>
internal static class KavachPolarTelemetry
{
    public const string Name = "KavachPolar";

    public static readonly ActivitySource ActivitySource = new(Name);
}
