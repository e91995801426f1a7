namespace KavachPolar;

/// <summary>
/// A plan change Polar holds for the start of the next period (a change made with <c>next_period</c>): Polar's
/// <c>pending_update</c> on the subscription. The subscription keeps its current product until <see cref="AppliesAt"/>.
/// </summary>
public sealed record KavachScheduledChange
{
    /// <summary>The product the subscription moves to.</summary>
    public required string ProductId { get; init; }

    /// <summary>When Polar applies the change (the end of the current period), UTC.</summary>
    public required DateTimeOffset AppliesAt { get; init; }
}
