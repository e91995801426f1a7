namespace KavachPolar.Usage;

/// <summary>Wakes this instance's usage sender right after a commit wrote a usage event.</summary>
internal sealed class UsageSignal : Callbacks.WakeSignal;
