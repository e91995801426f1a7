namespace KavachPolar.Callbacks;

/// <summary>Wakes this instance's dispatcher right after a commit queued a callback.</summary>
internal sealed class CallbackSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up covers every pending row.
        }
    }

    public void Dispose() => _signal.Dispose();

    /// <summary>Waits for a signal or the timeout, whichever comes first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}
