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
internal sealed class CallbackDispatcher(
    IServiceScopeFactory scopes,
    SubscriptionChangeHandlers handlers,
    BenefitChangeHandlers benefitHandlers,
    CallbackSignal signal,
    CallbackDispatchSettings settings,
    TimeProvider time,
    KavachPolarMetrics metrics,
    ILogger<CallbackDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _batches;
    private int _batchSize = settings.BatchSize;
    private long _analyzedAtTicks = long.MinValue / 2;
    private bool _lastClaimFull;

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
        if (!handlers.Any && !benefitHandlers.Any)
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

    /// <summary>Rows the next claim asks for: <see cref="CallbackDispatchSettings.BatchSize"/>, more while a backlog of fast callbacks lasts.</summary>
    internal int BatchSize => _batchSize;

    /// <summary>Runs one batch of due callbacks. Returns whether any row was due.</summary>
    internal async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (!handlers.Any && !benefitHandlers.Any)
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

        if (_lastClaimFull && Environment.TickCount64 - _analyzedAtTicks > (long)settings.AnalyzeEvery.TotalMilliseconds)
        {
            // A backlog (the last claim found as many rows as it asked for), whether the callbacks are fast or slow:
            // the claim's plan needs statistics that know it (see CallbackQueue.AnalyzeAsync).
            _analyzedAtTicks = Environment.TickCount64;
            await CallbackQueue.AnalyzeAsync(db).ConfigureAwait(false);
        }

        // A per-batch token tells which rows this call won when another instance claims at the same moment.
        var token = _owner + ":" + Interlocked.Increment(ref _batches).ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<ClaimedCallback> claimed;
        try
        {
            // Not cancelled by shutdown: a claim whose answer is lost would park the rows for the lease.
            claimed = await CallbackQueue.ClaimAsync(db, token, BatchSize, Lease, NowUs()).ConfigureAwait(false);
        }
        catch
        {
            // Its answer may be lost while it committed: whatever holds this token is handed back later.
            _unclaimed.Enqueue(token);
            throw;
        }

        _lastClaimFull = claimed.Count == BatchSize;
        if (claimed.Count == 0)
        {
            return false;
        }

        foreach (var row in claimed)
        {
            _held[row.Id] = row.Owner;
        }

        // Callbacks run in parallel (each row is a different user). The batch settles together once they end, or
        // after SlowCallbackAfter with what has ended: a slow callback then settles on its own when it ends, keeping
        // its lease (renewed) meanwhile, so it never holds up the other users' callbacks or the next claim.
        var slots = new SemaphoreSlim(settings.MaxParallelCallbacks); // not disposed: slow callbacks release it later
        var started = new ConcurrentDictionary<long, bool>();
        var runs = claimed.Select(async row =>
        {
            await slots.WaitAsync(ct).ConfigureAwait(false);
            started[row.Id] = true;
            try
            {
                return await InvokeAsync(row, ct).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(runs).WaitAsync(settings.SlowCallbackAfter, ct).ConfigureAwait(false);

            // A full batch whose callbacks all ended in time means a backlog of fast callbacks: claim twice as many
            // next time (up to MaxBatchSize), so the claim's fixed cost stops capping the rate. Anything else goes
            // back to BatchSize.
            _batchSize = _lastClaimFull ? Math.Min(_batchSize * 2, Math.Max(settings.MaxBatchSize, settings.BatchSize)) : settings.BatchSize;
        }
        catch (TimeoutException)
        {
            _batchSize = settings.BatchSize;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: settle what ran, hand back what never started; a callback still running keeps its
            // lease until it ends here or the lease runs out, so no other instance runs it meanwhile.
        }

        if (ct.IsCancellationRequested)
        {
            // Callbacks were told to stop: give them a moment to do so, so that those which do are handed back below.
            try
            {
                await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException)
            {
            }
        }

        var settlements = runs.Where(r => r.IsCompletedSuccessfully).Select(r => r.Result).ToList();
        foreach (var run in runs.Where(r => !r.IsCompleted))
        {
            _ = SettleWhenDoneAsync(run);
        }

        try
        {
            await CallbackQueue.SettleAsync(db, settlements, NowUs()).ConfigureAwait(false);
        }
        catch
        {
            settlements.ForEach(_unsettled.Enqueue);
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
            // Hand the rows never started back now rather than when the lease runs out, so another instance (or the
            // next deploy) runs them within seconds.
            // Hand back the rows never started and those whose callback stopped without a result; one still running
            // keeps its lease.
            var notRun = claimed.Where((c, i) => !started.ContainsKey(c.Id)
                                                 || (runs[i].IsCompleted && !runs[i].IsCompletedSuccessfully && runs[i].Exception?.InnerException is not StillRunningException))
                .Select(c => (c.Id, c.Owner)).ToList();
            await CallbackQueue.ReleaseAsync(db, notRun).ConfigureAwait(false);
            notRun.ForEach(r => _held.TryRemove(r.Id, out _));
            ct.ThrowIfCancellationRequested();
        }

        return true;
    }

    /// <summary>Settles a slow callback on its own once it ends (or leaves it to its lease if the app is stopping).</summary>
    private async Task SettleWhenDoneAsync(Task<Settlement> run)
    {
        Settlement settlement;
        try
        {
            settlement = await run.ConfigureAwait(false);
        }
        catch
        {
            return; // Stopped by shutdown: the row keeps its lease until it runs out.
        }

        try
        {
            await using var store = KavachDbScope.Open(scopes);
            await CallbackQueue.SettleAsync(store.Db, [settlement], NowUs()).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.DispatcherStoreFailed(logger, e.GetType().Name);
            _unsettled.Enqueue(settlement);
        }
        finally
        {
            if (!settlement.KeepLease)
            {
                _held.TryRemove(settlement.Id, out _);
            }

            signal.Notify();
        }
    }

    private async Task<Settlement> InvokeAsync(ClaimedCallback row, CancellationToken ct)
    {
        var isBenefit = BenefitCallback.Is(row.Change);
        if (isBenefit ? !benefitHandlers.Any : !handlers.Any)
        {
            // A kind another host of the app handles (it declared it): handed back for it to claim, no attempt counted.
            // The user's later changes wait behind it, as they wait behind any earlier change.
            return new Settlement(row.Id, row.Owner, false, row.Attempts, PollInterval, "not handled by this host");
        }

        (string EventId, string Kind)? change = null;
        Task? running = null;
        CancellationTokenSource? timeout = null;
        try
        {
            timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CallbackTimeout);
            if (isBenefit)
            {
                var benefit = BenefitCallback.Deserialize(row.Change);
                change = (benefit.EventId, CallbackKinds.Benefit);
                running = benefitHandlers.InvokeAsync(benefit, timeout.Token);
            }
            else
            {
                var subscription = JsonSerializer.Deserialize(row.Change, OutboxJsonContext.Default.KavachSubscriptionChange)
                                   ?? throw new JsonException("The stored change is null.");
                change = (subscription.EventId, CallbackKinds.Subscription);
                running = handlers.InvokeAsync(subscription, timeout.Token);
            }

            // Stop waiting at the timeout even when the callback ignores its token.
            await running.WaitAsync(CallbackTimeout, ct).ConfigureAwait(false);
            metrics.CountCallback(succeeded: true);
            return new Settlement(row.Id, row.Owner, true, 0, TimeSpan.Zero, null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && running is { IsCompleted: false })
        {
            // Shutting down: the callback was told to stop. If it does not within a moment, its row keeps its lease.
            try
            {
                await running.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not StillRunningException)
            {
            }

            if (!running.IsCompleted)
            {
                throw new StillRunningException();
            }

            throw;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            metrics.CountCallback(succeeded: false);
            var attempt = row.Attempts + 1;
            var delay = Backoff(attempt);
            Log.CallbackFailed(logger, e, row.UserId, change?.EventId ?? "?", attempt, e.GetType().Name, delay);
            var stillRunning = running is { IsCompleted: false };
            if (stillRunning)
            {
                // Whichever timer fired first, the callback is told to stop.
                timeout?.Cancel();
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

            return new Settlement(row.Id, row.Owner, false, attempt, delay, TextSafety.ForTextColumn(e.GetType().FullName ?? e.GetType().Name, Limits.Error), KeepLease: stillRunning);
        }
        finally
        {
            // The callback may still hold the token: dispose its source only once it has ended.
            if (timeout is not null)
            {
                if (running is { IsCompleted: false })
                {
                    var source = timeout;
                    _ = running.ContinueWith(_ => source.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }
                else
                {
                    timeout.Dispose();
                }
            }
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

    /// <summary>How often, at most, the queue's statistics are refreshed while a backlog lasts.</summary>
    public TimeSpan AnalyzeEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The most rows claimed at once while a backlog of callbacks that end in time lasts.</summary>
    public int MaxBatchSize { get; init; } = 512;

    public int MaxParallelCallbacks { get; init; } = 8;

    /// <summary>How long a batch waits for its slowest callbacks before settling the others (those settle on their own).</summary>
    public TimeSpan SlowCallbackAfter { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A callback told to stop at shutdown that is still running: its row keeps its lease.</summary>
internal sealed class StillRunningException : Exception
{
    public StillRunningException()
        : base("The callback is still running.")
    {
    }
}
