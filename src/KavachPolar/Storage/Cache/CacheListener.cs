using System.Globalization;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KavachPolar.Storage.Cache;

/// <summary>
/// Keeps <see cref="SubscriptionCache"/> true across instances on PostgreSQL: <c>LISTEN</c>s on the channel every
/// change to a user's subscriptions is announced on (<see cref="CacheAnnouncer"/>, after the change's commit) and
/// forgets the users named, or everyone on an empty payload; then tells <see cref="HeardChanges"/> (the callback
/// dispatcher wakes on it).
/// </summary>
/// <remarks>
/// Whether announcements arrive is measured, not assumed from the absence of errors: every
/// <see cref="Timing.ProbeInterval"/> the listener sends a probe from a second connection of its own, as an announcement
/// travels, on a channel only its listening connection listens on (never the announcement channel, where every payload
/// names a user), and the cache serves only until the next probe is due back. A listening connection that goes silent
/// without an error (a partition, a NAT or pooler that dropped it) thus stops the cache within
/// <see cref="Timing.ProbeInterval"/> + <see cref="Timing.ProbeTimeout"/>, and the listener reconnects; the cache starts
/// empty when a probe comes back again. A listening connection that still answers but never hears a probe is behind a
/// pooler in transaction or statement mode, where <c>LISTEN</c> cannot work: the listener then logs it once and stops,
/// and the cache stays off (<see cref="KavachPolarOptions.NotificationConnectionString"/> gives it a direct connection).
/// </remarks>
internal sealed class CacheListener(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    HeardChanges changes,
    IOptionsMonitor<KavachPolarOptions> options,
    CacheListener.Timing timing,
    TimeProvider time,
    ILogger<CacheListener> logger) : BackgroundService
{
    /// <summary>How often the listener sends a probe, and how long one may take to come back.</summary>
    internal sealed record Timing(TimeSpan ProbeInterval, TimeSpan ProbeTimeout)
    {
        public static readonly Timing Default = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The scope lives as long as the listener: its DbContext's connection (never opened here) is what each
        // listening connection is cloned from, with the host's credentials, fresh from a data source's password
        // provider at every reconnect.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
        switch (db.Database.ProviderName)
        {
            case StoreProvider.Npgsql:
                break;
            case StoreProvider.Sqlite:
                return; // The embedded default serves one process: local commits keep the cache true.
            default:
                // No way to hear other instances' changes: the cache stays off rather than serve stale state.
                cache.NotHearing();
                changes.Listening(false);
                return;
        }

        cache.NotHearing();
        changes.Listening(false);
        var host = (NpgsqlConnection)db.Database.GetDbConnection();
        var failures = new FailureRun();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(host, failures.End, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (DeafException)
            {
                cache.NotHearing();
                changes.Listening(false);
                Log.CacheCannotListen(logger);
                return;
            }
            catch (Exception e)
            {
                cache.NotHearing();
                changes.Listening(false);
                var (inARow, log) = failures.Fail();
                if (log)
                {
                    Log.CacheListenerFailed(logger, e.GetType().Name);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, inARow)), time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Listens on a new connection until it fails or a probe does not come back in time (both throw; a listening
    /// connection that still answers then throws <see cref="DeafException"/>).
    /// </summary>
    private async Task ListenAsync(NpgsqlConnection host, Action heardProbe, CancellationToken stoppingToken)
    {
        var direct = options.CurrentValue.NotificationConnectionString;
        await using var listening = await OwnConnections.CloneAsync(host, direct, "KavachPolar cache listener", stoppingToken).ConfigureAwait(false);
        await using var probing = await OwnConnections.CloneAsync(host, direct, "KavachPolar cache probe", stoppingToken).ConfigureAwait(false);
        var probeChannel = "kavach_polar_probe_" + Guid.NewGuid().ToString("N");
        string? probe = null;
        var probes = 0;
        using var heard = new SemaphoreSlim(0);
        listening.Notification += (_, e) =>
        {
            if (e.Channel == probeChannel)
            {
                if (e.Payload == Volatile.Read(ref probe))
                {
                    heard.Release();
                }
            }
            else
            {
                if (e.Payload.Length == 0)
                {
                    cache.Clear();
                }
                else
                {
                    cache.Invalidate(e.Payload);
                }

                changes.Heard();
            }
        };
        await listening.OpenAsync(stoppingToken).ConfigureAwait(false);
        await probing.OpenAsync(stoppingToken).ConfigureAwait(false);
        await ExecuteAsync(listening, "LISTEN " + CacheChannel.Name + "; LISTEN " + probeChannel, null, stoppingToken).ConfigureAwait(false);

        // The first probe may take ProbeTimeout; each later one must be back before the cache stops serving.
        var servingFor = timing.ProbeInterval + timing.ProbeTimeout;
        var dueBack = time.GetTimestamp() + Ticks(timing.ProbeTimeout);
        var lateInARow = 0;
        while (true)
        {
            Volatile.Write(ref probe, (++probes).ToString(CultureInfo.InvariantCulture));
            if (!await WithinAsync(Until(dueBack), ct => ExecuteAsync(probing, "SELECT pg_notify('" + probeChannel + "', @p)", probe, ct), stoppingToken).ConfigureAwait(false))
            {
                throw new TimeoutException("The listener's probe was not sent in time.");
            }

            while (heard.CurrentCount == 0 && Until(dueBack) > TimeSpan.Zero)
            {
                await listening.WaitAsync(WaitMilliseconds(Until(dueBack)), stoppingToken).ConfigureAwait(false);
            }

            if (!heard.Wait(0, CancellationToken.None))
            {
                // Not heard: a listening connection that went silent answers nothing either. One that answers has
                // received, before the answer, every notification PostgreSQL had for it, the probe included, unless it
                // is behind a pooler in transaction mode (the answer comes from whichever server connection is free),
                // where it will never hear anything.
                if (!await WithinAsync(timing.ProbeTimeout, ct => ExecuteAsync(listening, "SELECT 1", null, ct), stoppingToken).ConfigureAwait(false))
                {
                    throw new TimeoutException("The listener's own notification did not come back.");
                }

                if (!heard.Wait(0, CancellationToken.None))
                {
                    throw new DeafException();
                }

                // Heard, but only after its time: a slow connection, or a pooler in transaction mode that happened to
                // run the check on the very server connection that ran LISTEN and had the probe waiting (under load it
                // had not yet read it while that connection sat idle). Either way the next probe tells them apart; a
                // third late one in a row is a failure.
                if (++lateInARow == 3)
                {
                    throw new TimeoutException("The listener's own notification came back late three times in a row.");
                }

                dueBack = time.GetTimestamp() + Ticks(timing.ProbeTimeout);
                continue;
            }

            lateInARow = 0;
            var heardAt = time.GetTimestamp();
            cache.Heard(servingFor);
            changes.Listening(true);
            heardProbe();
            dueBack = heardAt + Ticks(servingFor);
            var next = heardAt + Ticks(timing.ProbeInterval);
            while (Until(next) > TimeSpan.Zero)
            {
                await listening.WaitAsync(WaitMilliseconds(Until(next)), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="work"/> ended within <paramref name="budget"/> (cancelled at the budget: false). Waited
    /// for at most the budget even when the work ignores its token, so the listener never waits on a command forever:
    /// an idle host whose listener stopped probing without an error would keep its cache off and its dispatcher polling
    /// every second, and never reconnect (the wait for notifications did that; see <see cref="WaitMilliseconds"/>).
    /// </summary>
    private static async Task<bool> WithinAsync(TimeSpan budget, Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var deadline = Deadline.Cancel(cts, budget);
        var running = work(cts.Token);
        try
        {
            await running.WaitAsync(budget, stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException && !stoppingToken.IsCancellationRequested)
        {
            _ = running.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return false;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, string? parameter, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (parameter is not null)
        {
            command.Parameters.AddWithValue("p", parameter);
        }

        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <paramref name="span"/> in whole milliseconds for <see cref="NpgsqlConnection.WaitAsync(int, CancellationToken)"/>,
    /// rounded up and at least 1: Npgsql reads 0 as "no time-out", and its <see cref="TimeSpan"/> overload truncates, so a
    /// wait of less than a millisecond before a probe was due waited for good on a connection that heard nothing (an idle
    /// host, or a silent connection): the listener stopped probing without an error and its cache stayed off.
    /// </summary>
    internal static int WaitMilliseconds(TimeSpan span) => (int)Math.Clamp(Math.Ceiling(span.TotalMilliseconds), 1, int.MaxValue);

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private TimeSpan Until(long timestamp) => TimeSpan.FromSeconds(Math.Max(0, timestamp - time.GetTimestamp()) / (double)time.TimestampFrequency);

    /// <summary>The listening connection answers but hears nothing: a pooler in transaction or statement mode.</summary>
    private sealed class DeafException : Exception;
}
