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
/// forgets the users named, or everyone on an empty payload. It serves only once a probe of its own, sent on a channel
/// only its connection listens on (never the announcement channel, where every payload names a user), came back. When
/// the connection drops the cache stops serving; once reconnected it starts empty.
/// </summary>
internal sealed class SubscriptionCacheListener(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    ILogger<SubscriptionCacheListener> logger) : BackgroundService
{
    /// <summary>How often the listener proves, with a notification of its own, that notifications still arrive.</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

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
                cache.SetListening(false);
                return;
        }

        cache.SetListening(false);
        var host = (NpgsqlConnection)db.Database.GetDbConnection();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await OwnConnections.CloneAsync(host, "KavachPolar cache listener", stoppingToken).ConfigureAwait(false);

                // The probe goes out on a channel only this connection listens on: any payload on the announcement
                // channel, whatever it looks like, names a user.
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

                while (!stoppingToken.IsCancellationRequested)
                {
                    // Serve only once a notification of our own came back: a pooler in transaction mode (PgBouncer
                    // and hosted poolers) accepts LISTEN and then delivers nothing.
                    Volatile.Write(ref probe, (++probes).ToString(CultureInfo.InvariantCulture));
                    await using (var notify = new NpgsqlCommand("SELECT pg_notify('" + probeChannel + "', @p)", connection))
                    {
                        notify.Parameters.AddWithValue("p", probe!);
                        await notify.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                    }

                    var deadline = DateTime.UtcNow + ProbeTimeout;
                    while (heard.CurrentCount == 0 && DateTime.UtcNow < deadline)
                    {
                        await connection.WaitAsync(deadline - DateTime.UtcNow, stoppingToken).ConfigureAwait(false);
                    }

                    if (!heard.Wait(0, CancellationToken.None))
                    {
                        throw new TimeoutException("The listener's own notification did not come back.");
                    }

                    cache.SetListening(true);
                    failures = 0;
                    var until = DateTime.UtcNow + ProbeInterval;
                    while (DateTime.UtcNow < until && !stoppingToken.IsCancellationRequested)
                    {
                        await connection.WaitAsync(until - DateTime.UtcNow, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                cache.SetListening(false);
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
}
