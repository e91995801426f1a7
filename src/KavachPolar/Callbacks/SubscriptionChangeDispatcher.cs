using System.Collections.Concurrent;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Callbacks;

/// <summary>
/// Runs <see cref="KavachPolarOptions.OnSubscriptionChange"/> and the registered
/// <see cref="IKavachSubscriptionChangeHandler"/>s for the changes queued in <c>kavach_polar_callbacks</c>: after
/// commit, in order per user, retried with back-off until they succeed. Each row is claimed under a lease that is
/// renewed while its callback runs, and leases are compared with the database's clock, so one callback never runs on
/// two instances at once, whatever their clocks say and however long a callback takes.
/// </summary>
internal sealed class SubscriptionChangeDispatcher(
    IServiceScopeFactory scopes,
    SubscriptionChangeListeners listeners,
    CallbackSignal signal,
    CallbackDispatchSettings settings,
    TimeProvider time,
    ILogger<SubscriptionChangeDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _batches;

    /// <summary>Rows this instance holds a lease on, running or abandoned after the callback timeout: renewed until they end.</summary>
    private readonly ConcurrentDictionary<long, string> _held = new();

    /// <summary>
    /// Rows whose callback ran but whose outcome could not be written (the database went away): settled before
    /// anything else once it is back, instead of staying leased and holding up their user's later changes.
    /// </summary>
    private readonly ConcurrentQueue<Settlement> _unsettled = new();

    /// <summary>Leases of abandoned callbacks that have ended, handed back once the database answers.</summary>
    private readonly ConcurrentQueue<(long Id, string Owner)> _toRelease = new();

    /// <summary>
    /// Tokens of batches whose claim failed midway: the claim may have committed with its answer lost, leaving rows
    /// leased under a token nothing runs. Handed back once the database answers again.
    /// </summary>
    private readonly ConcurrentQueue<string> _unclaimed = new();

    private TimeSpan PollInterval => settings.PollInterval;

    private TimeSpan Lease => settings.Lease;

    private TimeSpan CallbackTimeout => settings.CallbackTimeout;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!listeners.Any)
        {
            return;
        }

        var renewing = RenewLoopAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                worked = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
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
                    break;
                }
            }
        }

        await renewing.ConfigureAwait(false);
    }

    /// <summary>Runs one batch of due callbacks. Returns whether any row was due.</summary>
    internal async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (!listeners.Any)
        {
            return false;
        }

        await using var store = KavachDbScope.Open(scopes);
        var db = store.Db;
        for (var n = _unsettled.Count; n > 0 && _unsettled.TryPeek(out var pending); n--)
        {
            await CallbackQueue.SettleAsync(db, [pending], NowUs()).ConfigureAwait(false);
            _unsettled.TryDequeue(out _);
        }

        for (var n = _unclaimed.Count; n > 0 && _unclaimed.TryPeek(out var lost); n--)
        {
            await CallbackQueue.ReleaseOwnerAsync(db, lost).ConfigureAwait(false);
            _unclaimed.TryDequeue(out _);
        }

        var release = new List<(long, string)>();
        while (_toRelease.TryPeek(out var r))
        {
            release.Add(r);
            _toRelease.TryDequeue(out _);
        }

        try
        {
            await CallbackQueue.ReleaseAsync(db, release).ConfigureAwait(false);
        }
        catch
        {
            release.ForEach(_toRelease.Enqueue);
            throw;
        }

        // A per-batch token tells which rows this call won when another instance claims at the same moment.
        var token = _owner + ":" + Interlocked.Increment(ref _batches).ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<ClaimedCallback> claimed;
        try
        {
            // Not cancelled by shutdown: a claim whose answer is lost would park the rows for the lease.
            claimed = await CallbackQueue.ClaimAsync(db, token, settings.BatchSize, Lease, NowUs()).ConfigureAwait(false);
        }
        catch
        {
            // Its answer may be lost while it committed: whatever holds this token is handed back later.
            _unclaimed.Enqueue(token);
            throw;
        }

        if (claimed.Count == 0)
        {
            return false;
        }

        foreach (var row in claimed)
        {
            _held[row.Id] = row.Owner;
        }

        var settlements = new ConcurrentBag<Settlement>();
        try
        {
            await Parallel.ForEachAsync(
                claimed,
                new ParallelOptions { MaxDegreeOfParallelism = settings.MaxParallelCallbacks, CancellationToken = ct },
                async (row, token2) => settlements.Add(await InvokeAsync(row, token2).ConfigureAwait(false))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: settle what ran, hand the rest back below.
        }

        try
        {
            await CallbackQueue.SettleAsync(db, [.. settlements], NowUs()).ConfigureAwait(false);
        }
        catch
        {
            foreach (var settlement in settlements)
            {
                _unsettled.Enqueue(settlement);
            }

            throw;
        }
        finally
        {
            foreach (var s in settlements.Where(s => !s.KeepLease))
            {
                _held.TryRemove(s.Id, out _);
            }
        }

        if (ct.IsCancellationRequested)
        {
            // Hand the rows not run back now rather than when the lease runs out, so another instance (or the next
            // deploy) runs them within seconds.
            var settled = settlements.Select(s => s.Id).ToHashSet();
            var notRun = claimed.Where(c => !settled.Contains(c.Id)).Select(c => (c.Id, c.Owner)).ToList();
            await CallbackQueue.ReleaseAsync(db, notRun).ConfigureAwait(false);
            notRun.ForEach(r => _held.TryRemove(r.Id, out _));
            ct.ThrowIfCancellationRequested();
        }

        return true;
    }

    private async Task<Settlement> InvokeAsync(ClaimedCallback row, CancellationToken ct)
    {
        KavachSubscriptionChange? change = null;
        Task? running = null;
        try
        {
            change = JsonSerializer.Deserialize(row.Change, OutboxJsonContext.Default.KavachSubscriptionChange)
                     ?? throw new JsonException("The stored change is null.");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CallbackTimeout);
            running = listeners.InvokeAsync(change, timeout.Token);
            // Stop waiting at the timeout even when the callback ignores its token.
            await running.WaitAsync(CallbackTimeout, ct).ConfigureAwait(false);
            KavachPolarTelemetry.CountCallback(succeeded: true);
            return new Settlement(row.Id, row.Owner, true, 0, TimeSpan.Zero, null);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            KavachPolarTelemetry.CountCallback(succeeded: false);
            var attempt = row.Attempts + 1;
            var delay = Backoff(attempt);
            Log.CallbackFailed(logger, e, row.UserId, change?.EventId ?? "?", attempt, e.GetType().Name, delay);
            var stillRunning = running is { IsCompleted: false };
            if (stillRunning)
            {
                // The row stays leased (and renewed) until the abandoned callback ends, then it is handed back.
                var (id, owner) = (row.Id, row.Owner);
                _ = running!.ContinueWith(
                    _ =>
                    {
                        _held.TryRemove(id, out var _);
                        _toRelease.Enqueue((id, owner));
                        signal.Notify();
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.None,
                    TaskScheduler.Default);
            }

            return new Settlement(row.Id, row.Owner, false, attempt, delay, e.GetType().FullName ?? e.GetType().Name, KeepLease: stillRunning);
        }
    }

    /// <summary>Renews the leases of every row this instance holds, a few times per lease.</summary>
    private async Task RenewLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Lease / 3, time, stoppingToken).ConfigureAwait(false);
                var held = _held.Select(h => (h.Key, h.Value)).ToList();
                if (held.Count > 0)
                {
                    await using var store = KavachDbScope.Open(scopes);
                    await CallbackQueue.RenewAsync(store.Db, held, Lease, NowUs()).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.DispatcherStoreFailed(logger, e.GetType().Name);
            }
        }
    }

    private long NowUs() => UnixTime.Microseconds(time.GetUtcNow());

    /// <summary>1 s, 2 s, 4 s ... up to a minute: the first retry within seconds.</summary>
    internal static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempt - 1, 10))));
}

/// <summary>How the dispatcher paces itself. One instance per app; tests register their own before start.</summary>
internal sealed class CallbackDispatchSettings
{
    /// <summary>How often the queue is polled for rows queued by other instances or due for retry.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim holds a row without renewal; renewed every third of it while the callback runs.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the dispatcher waits for one callback before it counts as failed (it keeps its lease until it ends).</summary>
    public TimeSpan CallbackTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Rows claimed at once; callbacks of one batch (each a different user) run in parallel.</summary>
    public int BatchSize { get; init; } = 32;

    public int MaxParallelCallbacks { get; init; } = 8;
}
