using System.Collections.Concurrent;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Endpoints;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Callbacks;

/// <summary>
/// Runs <see cref="KavachPolarOptions.OnSubscriptionChange"/> for the changes queued in
/// <c>kavach_polar_callbacks</c>: after commit, in order per user, retried with back-off until it
/// succeeds. Each row is claimed with a lease, so with several app instances one callback never
/// runs on two of them at once.
/// </summary>
internal sealed class SubscriptionChangeDispatcher(
    IServiceScopeFactory scopes,
    IOptionsMonitor<KavachPolarOptions> options,
    CallbackSignal signal,
    TimeProvider time,
    ILogger<SubscriptionChangeDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>
    /// Rows whose callback ran but whose outcome could not be written (the database went away):
    /// settled before anything else once it is back, instead of staying leased, and holding up
    /// their user's later changes, until the lease runs out.
    /// </summary>
    private readonly ConcurrentQueue<Settlement> _unsettled = new();

    /// <summary>How often the queue is polled for rows queued by other instances or due for retry.</summary>
    internal TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.CurrentValue.OnSubscriptionChange is null)
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
        var callback = options.CurrentValue.OnSubscriptionChange;
        if (callback is null)
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
        var set = db.Set<PendingCallbackRecord>();
        for (var n = _unsettled.Count; n > 0 && _unsettled.TryPeek(out var pending); n--)
        {
            await SettleAsync(set, pending).ConfigureAwait(false);
            _unsettled.TryDequeue(out _);
        }

        var nowUs = SubscriptionSynchronizer.ToUs(time.GetUtcNow());

        // Only each user's oldest pending change is due: a later change waits for the earlier one.
        var due = await set.AsNoTracking()
            .Where(c => c.NextAttemptAtUs <= nowUs
                        && (c.LockedUntilUs == null || c.LockedUntilUs < nowUs)
                        && !set.Any(e => e.UserId == c.UserId && e.Id < c.Id))
            .OrderBy(c => c.Id)
            .Take(32)
            .ToListAsync(ct)
            .ConfigureAwait(false);

        foreach (var row in due)
        {
            await RunOneAsync(set, row, callback, ct).ConfigureAwait(false);
        }

        return due.Count > 0;
    }

    private async Task RunOneAsync(DbSet<PendingCallbackRecord> set, PendingCallbackRecord row, Func<KavachSubscriptionChange, CancellationToken, Task> callback, CancellationToken ct)
    {
        var nowUs = SubscriptionSynchronizer.ToUs(time.GetUtcNow());
        var leaseUntil = nowUs + (long)Lease.TotalMicroseconds;
        var claimed = await set
            .Where(c => c.Id == row.Id && (c.LockedUntilUs == null || c.LockedUntilUs < nowUs))
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, leaseUntil).SetProperty(c => c.LockOwner, _owner), ct)
            .ConfigureAwait(false);
        if (claimed == 0)
        {
            return;
        }

        var change = JsonSerializer.Deserialize(row.Change, KavachJsonContext.Default.KavachSubscriptionChange)!;
        Settlement settlement;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CallbackTimeout);
            await callback(change, timeout.Token).ConfigureAwait(false);
            KavachPolarTelemetry.CountCallback(succeeded: true);
            settlement = new Settlement(row.Id, true, 0, 0, null);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            KavachPolarTelemetry.CountCallback(succeeded: false);
            var attempt = row.Attempts + 1;
            var delay = Backoff(attempt);
            Log.CallbackFailed(logger, e, change.UserId, change.EventId, attempt, e.GetType().Name, delay);
            var next = SubscriptionSynchronizer.ToUs(time.GetUtcNow() + delay);
            settlement = new Settlement(row.Id, false, attempt, next, e.GetType().FullName ?? e.GetType().Name);
        }

        try
        {
            await SettleAsync(set, settlement).ConfigureAwait(false);
        }
        catch
        {
            _unsettled.Enqueue(settlement);
            throw;
        }
    }

    /// <summary>Deletes a row whose callback succeeded, or releases it for a retry; only while this instance holds its lease.</summary>
    private async Task SettleAsync(DbSet<PendingCallbackRecord> set, Settlement s)
    {
        var mine = set.Where(c => c.Id == s.Id && c.LockOwner == _owner);
        if (s.Succeeded)
        {
            await mine.ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        await mine
            .ExecuteUpdateAsync(
                u => u.SetProperty(c => c.Attempts, s.Attempts)
                    .SetProperty(c => c.NextAttemptAtUs, s.NextAttemptAtUs)
                    .SetProperty(c => c.LockedUntilUs, (long?)null)
                    .SetProperty(c => c.LockOwner, (string?)null)
                    .SetProperty(c => c.LastError, s.Error),
                CancellationToken.None)
            .ConfigureAwait(false);
    }

    private readonly record struct Settlement(long Id, bool Succeeded, int Attempts, long NextAttemptAtUs, string? Error);

    /// <summary>1 s, 2 s, 4 s ... up to a minute: the first retry within seconds.</summary>
    internal static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempt - 1, 10))));
}
