namespace KavachPolar.Storage;

/// <summary>
/// Runs one unit of database work on a DbContext of its own and stops waiting for it at a budget, whatever the
/// driver does. Cancelling a command sends the server a cancel request, which a hung server never answers; so the
/// caller stops waiting at the budget (an <see cref="OperationCanceledException"/> that is not the caller's, which
/// <see cref="StoreFailures"/> counts as a store failure), while the work keeps its own scope and connection until
/// it finishes or fails. Only then is its connection disposed, so it is never handed to someone else mid-command.
/// </summary>
internal static class StoreBudget
{
    /// <param name="store">The work's own scope (see <see cref="KavachDbScope"/>), disposed when the work ends.</param>
    /// <param name="budget">How long the caller waits.</param>
    /// <param name="openContext">Open the DbContext's connection before the work (else the work opens what it needs).</param>
    /// <param name="work">The unit of work.</param>
    /// <param name="ct">The caller's token.</param>
    public static async Task<T> RunAsync<T>(KavachDbScope store, TimeSpan budget, bool openContext, Func<KavachDbScope, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var deadline = Deadline.Cancel(cts, budget);
        var token = cts.Token; // before the work can finish and dispose its source
        var task = RunOwnedAsync(store, openContext, work, cts, deadline);
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return await task.WaitAsync(token).ConfigureAwait(false);
    }

    private static async Task<T> RunOwnedAsync<T>(KavachDbScope store, bool openContext, Func<KavachDbScope, CancellationToken, Task<T>> work, CancellationTokenSource cts, Deadline deadline)
    {
        try
        {
            await using (store.ConfigureAwait(false))
            {
                if (openContext)
                {
                    await store.OpenAsync(cts.Token).ConfigureAwait(false);
                }

                return await work(store, cts.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            deadline.Dispose();
            cts.Dispose();
        }
    }
}
