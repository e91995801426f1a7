namespace KavachPolar.Callbacks;

/// <summary>Wakes this instance's dispatcher right after a commit queued a callback.</summary>
internal sealed class CallbackSignal : WakeSignal;
