namespace KavachPolar;

/// <summary>What <see cref="IKavachPolarSubscriptions.ReplayUnprocessableAsync"/> did.</summary>
public sealed class KavachReplaySummary
{
    /// <summary>Recorded deliveries that were processed this time (applied, stale, ignored...).</summary>
    public required int Replayed { get; init; }

    /// <summary>Recorded deliveries that still cannot be processed; they stay recorded as <c>unprocessable</c>.</summary>
    public required int StillUnprocessable { get; init; }
}
