namespace KavachPolar.Callbacks;

/// <summary>
/// Wakes one background worker of this instance right after a commit gave it work: one pending wake-up covers every row
/// committed before the worker looks. Each worker has its own subclass, so each is its own singleton.
/// </summary>
internal abstract class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        // Already signalled (the common case under load): one wake-up covers every pending row, and asking first spares
        // a thrown and caught exception per commit. Two callers can still both see zero; the second one's Release throws.
        if (_signal.CurrentCount > 0)
        {
            return;
        }

        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public void Dispose() => _signal.Dispose();

    /// <summary>Waits for a signal or the timeout, whichever comes first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}
