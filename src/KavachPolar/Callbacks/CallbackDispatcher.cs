using System.Collections.Concurrent;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
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
    HeardChanges heard,
    CallbackDispatchSettings settings,
    TimeProvider time,
    KavachPolarMetrics metrics,
    ILogger<CallbackDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    /// <summary>How long past its time a retry scheduled here is still looked for every <see cref="CallbackDispatchSettings.PollInterval"/>.</summary>
    private static readonly TimeSpan RetryGrace = TimeSpan.FromSeconds(10);

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _batches;
    private int _batchSize = settings.BatchSize;
    private long? _analyzedAt; // time.GetTimestamp() of the last ANALYZE
    private bool _lastClaimFull;
    private volatile bool _oneProcess; // SQLite: the embedded default serves one process, whose commits signal

    private readonly LeaseBook _leases = new();

    private TimeSpan PollInterval => settings.PollInterval;

    private TimeSpan Lease => settings.Lease;

    private TimeSpan CallbackTimeout => settings.CallbackTimeout;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!handlers.Any && !benefitHandlers.Any)
        {
            return;
        }

        // Every queued callback is a change announced after its commit: heard here, from any process, it wakes the
        // dispatcher as this instance's own commits do.
        heard.Subscribe(signal.Notify);
        var renewing = RenewLoopAsync(stoppingToken);
        var woken = true; // the first round claims: rows may have waited while no host ran
        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            var failed = false;
            try
            {
                // Woken by a commit or an announcement: claim. Woken by the clock: look first, quietly, where that is
                // possible (see CallbackQueue.AnyDueQuietlyAsync), so an idle host's poll leaves no EF Core log line.
                worked = (woken || await AnyDueAsync(stoppingToken).ConfigureAwait(false)) && await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.DispatcherStoreFailed(logger, e.GetType().Name);
                failed = true;
            }

            woken = true;
            if (!worked)
            {
                try
                {
                    woken = await signal.WaitAsync(failed ? PollInterval : NextWait(), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await renewing.ConfigureAwait(false);
    }

    /// <summary>
    /// How long to wait for a signal before looking at the queue again: <see cref="CallbackDispatchSettings.IdlePollInterval"/>
    /// while other processes' announcements are heard (or on SQLite, one process) and nothing is owed to the queue, else
    /// <see cref="CallbackDispatchSettings.PollInterval"/>; never past a retry this instance scheduled, and never less than
    /// <see cref="CallbackDispatchSettings.PollInterval"/> (a retry whose time has come but that the database does not
    /// yet count as due, by its own clock, is looked for again then).
    /// </summary>
    internal TimeSpan NextWait()
    {
        // Work a failed round trip left (an outcome not written, a lost claim's rows) is done at the next round.
        var wait = !_leases.Owed && (_oneProcess || heard.Hearing) ? settings.IdlePollInterval : PollInterval;
        var now = time.GetTimestamp();
        if (_leases.NextRetry(now, (long)(RetryGrace.TotalSeconds * time.TimestampFrequency)) is { } retry)
        {
            var until = TimeSpan.FromSeconds((retry - now) / (double)time.TimestampFrequency);
            wait = until < PollInterval ? PollInterval : until < wait ? until : wait;
        }

        return wait;
    }

    /// <summary>Whether a round is worth a claim: work owed to the queue, a due row, or no way to ask quietly.</summary>
    private async Task<bool> AnyDueAsync(CancellationToken ct)
    {
        if (_leases.Owed)
        {
            return true;
        }

        await using var store = KavachDbScope.Open(scopes);
        return await CallbackQueue.AnyDueQuietlyAsync(store.Db, ct).ConfigureAwait(false) ?? true;
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
        _oneProcess = StoreProvider.IsSqlite(db);
        await _leases.CatchUpAsync(db, NowUs()).ConfigureAwait(false);

        if (_lastClaimFull && (_analyzedAt is not { } analyzedAt || time.GetElapsedTime(analyzedAt) > settings.AnalyzeEvery))
        {
            // A backlog (the last claim found as many rows as it asked for), whether the callbacks are fast or slow:
            // the claim's plan needs statistics that know it (see CallbackQueue.AnalyzeAsync).
            _analyzedAt = time.GetTimestamp();
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
            _leases.UnclaimedLater(token);
            throw;
        }

        _lastClaimFull = claimed.Count == BatchSize;
        if (claimed.Count == 0)
        {
            return false;
        }

        _leases.Hold(claimed);

        var (runs, started) = await RunBatchAsync(claimed, ct).ConfigureAwait(false);
        var settlements = runs.Where(r => r.IsCompletedSuccessfully).Select(r => r.Result).ToList();
        foreach (var run in runs.Where(r => !r.IsCompleted))
        {
            _ = SettleWhenDoneAsync(run);
        }

        await _leases.SettleAsync(db, settlements, NowUs()).ConfigureAwait(false);

        if (ct.IsCancellationRequested)
        {
            // Hand the rows never started back now rather than when the lease runs out, so another instance (or the
            // next deploy) runs them within seconds.
            // Hand back the rows never started and those whose callback stopped without a result; one still running
            // keeps its lease.
            var notRun = claimed.Where((c, i) => !started.ContainsKey(c.Id)
                                                 || (runs[i].IsCompleted && !runs[i].IsCompletedSuccessfully && runs[i].Exception?.InnerException is not StillRunningException))
                .Select(c => (c.Id, c.Owner)).ToList();
            await _leases.ReleaseAsync(db, notRun).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }

        return true;
    }

    /// <summary>
    /// Runs a claimed batch, different users in parallel, and waits for it as long as a batch waits (see below).
    /// Returns every run and which rows started.
    /// </summary>
    private async Task<(List<Task<Settlement>> Runs, ConcurrentDictionary<long, bool> Started)> RunBatchAsync(List<ClaimedCallback> claimed, CancellationToken ct)
    {
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

        return (runs, started);
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
            _leases.SettleLater(settlement);
        }
        finally
        {
            if (!settlement.KeepLease)
            {
                _leases.Drop(settlement.Id);
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
            _leases.RetryAt(row.Id, time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency));
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
                        _leases.ReleaseLater(id, owner);
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
                var held = _leases.Held();
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
