using System.Globalization;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// Keeps <see cref="SubscriptionCache"/> true across instances on PostgreSQL: <c>LISTEN</c>s on the channel every
/// change to a user's subscriptions is announced on (<see cref="ChangeAnnouncer"/>, after the change's commit) and
/// forgets the users named, or everyone on an empty payload.
/// </summary>
/// <remarks>
/// Whether announcements arrive is measured, not assumed from the absence of errors: every
/// <see cref="Timing.ProbeInterval"/> the listener sends a probe on a channel only its own connection listens on (never
/// the announcement channel, where every payload names a user) and the cache serves only until the next probe is due
/// back. A connection that goes silent without an error (a partition, a NAT or pooler that dropped it) thus stops the
/// cache within <see cref="Timing.ProbeInterval"/> + <see cref="Timing.ProbeTimeout"/>, and the listener reconnects; the
/// cache starts empty when a probe comes back again.
/// </remarks>
internal sealed class SubscriptionCacheListener(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    SubscriptionCacheListener.Timing timing,
    TimeProvider time,
    ILogger<SubscriptionCacheListener> logger) : BackgroundService
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
                return;
        }

        cache.NotHearing();
        var host = (NpgsqlConnection)db.Database.GetDbConnection();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(host, () => failures = 0, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                cache.NotHearing();
                if (failures++ < 3 || failures % 60 == 0)
                {
                    Log.CacheListenerFailed(logger, e.GetType().Name);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, failures)), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Listens on a new connection until it fails or a probe does not come back in time (both throw).</summary>
    private async Task ListenAsync(NpgsqlConnection host, Action heardProbe, CancellationToken stoppingToken)
    {
        await using var connection = await OwnConnections.CloneAsync(host, "KavachPolar cache listener", stoppingToken).ConfigureAwait(false);
        var probeChannel = "kavach_polar_probe_" + Guid.NewGuid().ToString("N");
        string? probe = null;
        var probes = 0;
        using var heard = new SemaphoreSlim(0);
        connection.Notification += (_, e) =>
        {
            if (e.Channel == probeChannel)
            {
                if (e.Payload == Volatile.Read(ref probe))
                {
                    heard.Release();
                }
            }
            else if (e.Payload.Length == 0)
            {
                cache.Clear();
            }
            else
            {
                cache.Invalidate(e.Payload);
            }
        };
        await connection.OpenAsync(stoppingToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand("LISTEN " + ChangeAnnouncer.Channel + "; LISTEN " + probeChannel, connection))
        {
            await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
        }

        // The first probe may take ProbeTimeout; each later one must be back before the cache stops serving.
        var servingFor = timing.ProbeInterval + timing.ProbeTimeout;
        var dueBack = time.GetTimestamp() + Ticks(timing.ProbeTimeout);
        while (true)
        {
            // Serve only once a notification of our own came back: a pooler in transaction mode (PgBouncer and
            // hosted poolers) accepts LISTEN and then delivers nothing, and a silently dead connection answers nothing.
            Volatile.Write(ref probe, (++probes).ToString(CultureInfo.InvariantCulture));
            using (var budget = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                budget.CancelAfter(Until(dueBack));
                await using var notify = new NpgsqlCommand("SELECT pg_notify('" + probeChannel + "', @p)", connection);
                notify.Parameters.AddWithValue("p", probe);
                try
                {
                    await notify.ExecuteNonQueryAsync(budget.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    throw new TimeoutException("The listener's probe was not answered in time.");
                }
            }

            while (heard.CurrentCount == 0 && Until(dueBack) > TimeSpan.Zero)
            {
                await connection.WaitAsync(Until(dueBack), stoppingToken).ConfigureAwait(false);
            }

            if (!heard.Wait(0, CancellationToken.None))
            {
                throw new TimeoutException("The listener's own notification did not come back.");
            }

            var heardAt = time.GetTimestamp();
            cache.Heard(servingFor);
            heardProbe();
            dueBack = heardAt + Ticks(servingFor);
            var next = heardAt + Ticks(timing.ProbeInterval);
            while (Until(next) > TimeSpan.Zero)
            {
                await connection.WaitAsync(Until(next), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private TimeSpan Until(long timestamp) => TimeSpan.FromSeconds(Math.Max(0, timestamp - time.GetTimestamp()) / (double)time.TimestampFrequency);
}
