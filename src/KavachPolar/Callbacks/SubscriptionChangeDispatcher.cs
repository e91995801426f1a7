using System.Collections.Concurrent;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Callbacks;

/// <summary>
/// Runs <see cref="KavachPolarOptions.OnSubscriptionChange"/> for the changes queued in
/// <c>kavach_polar_callbacks</c>: after commit, in order per user, retried with back-off until it
/// succeeds. Each row is claimed with a lease, so with several app instances one callback never
/// runs on two of them at once.
/// </summary>
internal sealed class SubscriptionChangeDispatcher(
    IServiceScopeFactory scopes,
    SubscriptionChangeListeners listeners,
    CallbackSignal signal,
    TimeProvider time,
    ILogger<SubscriptionChangeDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private const int MaxParallelCallbacks = 4;

    // One batch is at most one round of parallel callbacks, so it ends within CallbackTimeout plus
    // the settle, inside its Lease: a row is never run after its lease could have passed to another
    // instance.
    private const int BatchSize = MaxParallelCallbacks;

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _batches;

    /// <summary>
    /// Rows whose callback ran but whose outcome could not be written (the database went away):
    /// settled before anything else once it is back, instead of staying leased, and holding up
    /// their user's later changes, until the lease runs out.
    /// </summary>
    private readonly ConcurrentQueue<Settlement> _unsettled = new();

    /// <summary>
    /// Batches whose claim failed midway: the claim may have committed with its answer lost, leaving
    /// rows leased under a token nothing runs. Handed back, guarded by that token, once the database
    /// answers again.
    /// </summary>
    private readonly ConcurrentQueue<(string Token, List<long> Ids)> _unclaimed = new();

    /// <summary>How often the queue is polled for rows queued by other instances or due for retry.</summary>
    internal TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!listeners.Any)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                worked = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.DispatcherStoreFailed(logger, e.GetType().Name);
            }

            if (!worked)
            {
                try
                {
                    await signal.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Runs every due callback once. Returns whether any row was due.</summary>
    internal async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (!listeners.Any)
        {
            return false;
        }

        await using var store = KavachDbScope.Open(scopes);
        var db = store.Db;
        var set = db.Set<PendingCallbackRecord>();
        for (var n = _unsettled.Count; n > 0 && _unsettled.TryPeek(out var pending); n--)
        {
            await SettleAsync(set, [pending]).ConfigureAwait(false);
            _unsettled.TryDequeue(out _);
        }

        for (var n = _unclaimed.Count; n > 0 && _unclaimed.TryPeek(out var lost); n--)
        {
            await ReleaseAsync(set, lost.Token, lost.Ids).ConfigureAwait(false);
            _unclaimed.TryDequeue(out _);
        }

        var nowUs = UnixTime.Microseconds(time.GetUtcNow());

        // Only each user's oldest pending change is due: a later change waits for the earlier one.
        // So every row of a batch belongs to a different user, and the batch may run in parallel.
        var due = await set.AsNoTracking()
            .Where(c => c.NextAttemptAtUs <= nowUs
                        && (c.LockedUntilUs == null || c.LockedUntilUs < nowUs)
                        && !set.Any(e => e.UserId == c.UserId && e.Id < c.Id))
            .OrderBy(c => c.Id)
            .Select(c => c.Id)
            .Take(BatchSize)
            .ToListAsync(ct)
            .ConfigureAwait(false);
        if (due.Count == 0)
        {
            return false;
        }

        // One statement claims the batch; a per-batch owner token tells which rows this call won
        // when another instance claims some of the same rows at the same moment.
        var token = _owner + ":" + Interlocked.Increment(ref _batches).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var leaseUntil = nowUs + (long)Lease.TotalMicroseconds;
        List<PendingCallbackRecord> claimed;
        try
        {
            // Not cancelled by shutdown: a claim whose answer is lost would park the rows for the lease.
            await set
                .Where(c => due.Contains(c.Id) && c.NextAttemptAtUs <= nowUs && (c.LockedUntilUs == null || c.LockedUntilUs < nowUs))
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, leaseUntil).SetProperty(c => c.LockOwner, token), CancellationToken.None)
                .ConfigureAwait(false);
            claimed = await set.AsNoTracking().Where(c => due.Contains(c.Id) && c.LockOwner == token).ToListAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _unclaimed.Enqueue((token, due));
            throw;
        }

        var settlements = new ConcurrentBag<Settlement>();
        try
        {
            await Parallel.ForEachAsync(
                claimed,
                new ParallelOptions { MaxDegreeOfParallelism = MaxParallelCallbacks, CancellationToken = ct },
                async (row, token2) => settlements.Add(await InvokeAsync(row, token, token2).ConfigureAwait(false))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: settle what ran, hand the rest back below.
        }

        try
        {
            await SettleAsync(set, [.. settlements]).ConfigureAwait(false);
        }
        catch
        {
            foreach (var settlement in settlements)
            {
                _unsettled.Enqueue(settlement);
            }

            throw;
        }

        if (ct.IsCancellationRequested)
        {
            // Hand the rows not run back now rather than when the lease runs out, so another
            // instance (or the next deploy) runs them within seconds.
            await ReleaseAsync(set, token, due).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }

        return true;
    }

    private async Task<Settlement> InvokeAsync(PendingCallbackRecord row, string owner, CancellationToken ct)
    {
        KavachSubscriptionChange? change = null;
        try
        {
            change = JsonSerializer.Deserialize(row.Change, OutboxJsonContext.Default.KavachSubscriptionChange)
                     ?? throw new JsonException("The stored change is null.");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CallbackTimeout);
            await listeners.InvokeAsync(change, timeout.Token).ConfigureAwait(false);
            KavachPolarTelemetry.CountCallback(succeeded: true);
            return new Settlement(row.Id, owner, true, 0, 0, null);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            KavachPolarTelemetry.CountCallback(succeeded: false);
            var attempt = row.Attempts + 1;
            var delay = Backoff(attempt);
            Log.CallbackFailed(logger, e, row.UserId, change?.EventId ?? "?", attempt, e.GetType().Name, delay);
            var next = UnixTime.Microseconds(time.GetUtcNow() + delay);
            return new Settlement(row.Id, owner, false, attempt, next, e.GetType().FullName ?? e.GetType().Name);
        }
    }

    /// <summary>
    /// Deletes the rows whose callback succeeded (one statement) and releases the others for a retry;
    /// only rows this instance still holds under the same lease are touched.
    /// </summary>
    private static async Task SettleAsync(DbSet<PendingCallbackRecord> set, IReadOnlyCollection<Settlement> settlements)
    {
        var done = settlements.Where(s => s.Succeeded).ToList();
        foreach (var group in done.GroupBy(s => s.Owner))
        {
            var ids = group.Select(s => s.Id).ToList();
            await set.Where(c => ids.Contains(c.Id) && c.LockOwner == group.Key).ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var s in settlements.Where(s => !s.Succeeded))
        {
            await set
                .Where(c => c.Id == s.Id && c.LockOwner == s.Owner)
                .ExecuteUpdateAsync(
                    u => u.SetProperty(c => c.Attempts, s.Attempts)
                        .SetProperty(c => c.NextAttemptAtUs, s.NextAttemptAtUs)
                        .SetProperty(c => c.LockedUntilUs, (long?)null)
                        .SetProperty(c => c.LockOwner, (string?)null)
                        .SetProperty(c => c.LastError, s.Error),
                    CancellationToken.None)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Hands rows leased under <paramref name="token"/> back without running them.</summary>
    private static Task<int> ReleaseAsync(DbSet<PendingCallbackRecord> set, string token, List<long> ids) =>
        set.Where(c => ids.Contains(c.Id) && c.LockOwner == token)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, (long?)null).SetProperty(c => c.LockOwner, (string?)null), CancellationToken.None);

    private readonly record struct Settlement(long Id, string Owner, bool Succeeded, int Attempts, long NextAttemptAtUs, string? Error);

    /// <summary>1 s, 2 s, 4 s ... up to a minute: the first retry within seconds.</summary>
    internal static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempt - 1, 10))));
}
