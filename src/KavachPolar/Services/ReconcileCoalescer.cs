using System.Collections.Concurrent;

namespace KavachPolar.Services;

/// <summary>
/// Concurrent reconciles of one user share one run: five tabs of a success page, or a user hammering "refresh",
/// cost Polar one set of reads. Per process, like the rate-limit counters.
/// </summary>
internal sealed class ReconcileCoalescer
{
    private readonly ConcurrentDictionary<string, Run> _running = new(StringComparer.Ordinal);

    /// <summary>
    /// Joins the user's reconcile in progress, or starts one. The shared run is not cancelled by any one caller;
    /// each caller stops waiting at its own <paramref name="ct"/>.
    /// </summary>
    public Task<KavachPolarResult> RunAsync(string userId, Func<Task<KavachPolarResult>> reconcile, CancellationToken ct)
    {
        var run = _running.GetOrAdd(userId, static (id, state) => new Run(() => state.Self.RunAndForgetAsync(id, state.Reconcile)), (Self: this, Reconcile: reconcile));
        Interlocked.Increment(ref run.Callers);
        return run.Task.Value.WaitAsync(ct);
    }

    /// <summary>How many callers the user's run in progress has had (0 when none runs): what a test waits for.</summary>
    public int Callers(string userId) => _running.TryGetValue(userId, out var run) ? Volatile.Read(ref run.Callers) : 0;

    private async Task<KavachPolarResult> RunAndForgetAsync(string userId, Func<Task<KavachPolarResult>> reconcile)
    {
        try
        {
            return await reconcile().ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(userId, out _);
        }
    }

    private sealed class Run(Func<Task<KavachPolarResult>> start)
    {
        public readonly Lazy<Task<KavachPolarResult>> Task = new(start, LazyThreadSafetyMode.ExecutionAndPublication);
        public int Callers;
    }
}
