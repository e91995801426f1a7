using System.Collections.Concurrent;

namespace KavachPolar.Services;

/// <summary>
/// Concurrent reconciles of one user share one run: five tabs of a success page, or a user hammering "refresh",
/// cost Polar one set of reads. Per process, like the rate-limit counters.
/// </summary>
internal sealed class ReconcileCoalescer
{
    private readonly ConcurrentDictionary<string, Lazy<Task<KavachPolarResult>>> _running = new(StringComparer.Ordinal);

    /// <summary>
    /// Joins the user's reconcile in progress, or starts one. The shared run is not cancelled by any one caller;
    /// each caller stops waiting at its own <paramref name="ct"/>.
    /// </summary>
    public Task<KavachPolarResult> RunAsync(string userId, Func<Task<KavachPolarResult>> reconcile, CancellationToken ct)
    {
        var entry = new Lazy<Task<KavachPolarResult>>(() => RunAndForgetAsync(userId, reconcile), LazyThreadSafetyMode.ExecutionAndPublication);
        var running = _running.GetOrAdd(userId, entry);
        return running.Value.WaitAsync(ct);
    }

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
}
