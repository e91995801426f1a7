using System.Threading.Channels;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Storage;

/// <summary>
/// Tells every instance's <see cref="SubscriptionCache"/> that users' subscription state changed. Called after the
/// commit: this instance forgets them at once; the other instances hear it through PostgreSQL <c>NOTIFY</c> (see
/// <see cref="SubscriptionCacheListener"/>), sent from a background loop that batches what accumulates while one
/// announcement is on its way.
/// </summary>
/// <remarks>
/// Never inside the change's own transaction: PostgreSQL serializes the commits of notifying transactions on one
/// database-wide lock that is held through the commit's WAL flush, so with durable commits (the default) every
/// webhook would wait for every other's flush (measured: 0.15× of the floor, against 0.9× without). The announcement
/// commits with <c>synchronous_commit</c> off: it is delivered at its commit all the same, and holds the lock only
/// briefly. If this process dies between a commit and its announcement, the other instances keep what they cached for
/// at most <see cref="KavachPolarOptions.ReadCacheExpiry"/>, as when an announcement cannot be sent (it is retried);
/// when more users wait than one announcement should carry, every instance is told to forget everyone.
/// </remarks>
internal sealed class ChangeAnnouncer(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<ChangeAnnouncer> logger) : BackgroundService
{
    /// <summary>The channel; the payload is a user id, or empty (<see cref="WaitingAnnouncements.Everyone"/>) for "forget everyone".</summary>
    public const string Channel = "kavach_polar_users";

    private const string AnnounceSql = "SET LOCAL synchronous_commit TO OFF; SELECT pg_notify('" + Channel + "', u) FROM unnest(@users) AS u";

    // Up to 10 000 users waiting (beyond that, everyone), 1 000 named per announcement.
    private readonly WaitingAnnouncements _waiting = new(maxWaiting: 10_000, perAnnouncement: 1_000);
    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile bool _off;

    /// <summary>Call after the commit that changed <paramref name="userId"/>'s subscription state (null: nothing changed).</summary>
    public void Announce(string? userId)
    {
        if (userId is null)
        {
            return;
        }

        cache.Invalidate(userId);
        if (_off)
        {
            return;
        }

        _waiting.Add(userId);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Call after the commit that changed these users' subscription state.</summary>
    public void Announce(IReadOnlyCollection<string> userIds)
    {
        foreach (var id in userIds)
        {
            Announce(id);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        KavachDbScope? store = null;
        try
        {
            store = KavachDbScope.Open(scopes);
            if (!StoreProvider.IsPostgres(store.Db))
            {
                // SQLite serves one process, and other providers keep the cache off: nobody to tell.
                _off = true;
                _waiting.Clear();
                return;
            }

            var failures = 0;
            while (await _wake.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                while (_waiting.Take() is { } batch)
                {
                    try
                    {
                        using var budget = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        budget.CancelAfter(options.CurrentValue.DatabaseTimeout);
                        await SendAsync(store, batch, budget.Token).ConfigureAwait(false);
                        failures = 0;
                    }
                    catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is not OutOfMemoryException)
                    {
                        _waiting.Return(batch);
                        if (failures++ < 3 || failures % 60 == 0)
                        {
                            Log.AnnouncementFailed(logger, e.GetType().Name);
                        }

                        await store.DisposeAsync().ConfigureAwait(false);
                        store = KavachDbScope.Open(scopes);
                        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, failures)), stoppingToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: one last try for what is waiting, briefly.
            if (store is not null && _waiting.Take() is { } last)
            {
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await SendAsync(store, last, cts.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.AnnouncementFailed(logger, e.GetType().Name);
                }
            }
        }
        finally
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static Task<bool> SendAsync(KavachDbScope store, string[] batch, CancellationToken ct) =>
        StoreTransactions.RunAsync(
            store.Db,
            async t =>
            {
                await store.Db.Database.ExecuteSqlRawAsync(AnnounceSql, [new Npgsql.NpgsqlParameter<string[]>("users", batch)], t).ConfigureAwait(false);
                return true;
            },
            ct);
}
