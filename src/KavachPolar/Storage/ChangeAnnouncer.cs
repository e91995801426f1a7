using System.Threading.Channels;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// Tells every instance's <see cref="SubscriptionCache"/> that users' subscription state changed. Called after the
/// commit: this instance forgets them at once; the other instances hear it through PostgreSQL <c>NOTIFY</c> (see
/// <see cref="SubscriptionCacheListener"/>), sent on a connection of its own by a background loop that batches what
/// accumulates while one announcement is on its way.
/// </summary>
/// <remarks>
/// Never inside the change's own transaction: PostgreSQL serializes the commits of notifying transactions on one
/// database-wide lock that is held through the commit's WAL flush, so with durable commits (the default) every
/// webhook would wait for every other's flush (measured: 0.15× of the floor, against 0.9× without). The announcement
/// commits with <c>synchronous_commit</c> off: it is delivered at its commit all the same, and holds the lock only
/// briefly. An announcement that fails is sent again; when more users wait than one announcement should carry, every
/// instance is told to forget everyone. Outside a running host (before it starts, after it stops, or in a process that
/// never starts its hosted services) what is announced is sent right away in the background. If the process dies
/// between a commit and its announcement, the other instances keep what they cached for at most
/// <see cref="KavachPolarOptions.ReadCacheExpiry"/>.
/// </remarks>
internal sealed class ChangeAnnouncer(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<ChangeAnnouncer> logger) : BackgroundService
{
    /// <summary>The channel; the payload is a user id, or empty (<see cref="WaitingAnnouncements.Everyone"/>) for "forget everyone".</summary>
    public const string Channel = "kavach_polar_users";

    /// <summary>How long stopping (or an announcement outside a running host) may spend sending what waits.</summary>
    internal static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

    // One statement with a positional parameter (no SQL rewriting needed): synchronous_commit off for this statement's
    // own transaction only (set_config's third argument), then one notification per payload.
    private const string AnnounceSql = "SELECT pg_notify('" + Channel + "', u) FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s, unnest($1::text[]) AS u";

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    // Up to 10 000 users waiting (beyond that, everyone), 1 000 named per announcement.
    private readonly WaitingAnnouncements _waiting = new(maxWaiting: 10_000, perAnnouncement: 1_000);
    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _sending = new(1, 1);
    private NpgsqlConnection? _connection; // guarded by _sending
    private volatile int _provider; // 0: not asked yet, 1: PostgreSQL, 2: another provider (nobody to tell)
    private volatile bool _looping;
    private int _detached;

    /// <summary>Call after the commit that changed <paramref name="userId"/>'s subscription state (null: nothing changed).</summary>
    public void Announce(string? userId)
    {
        if (userId is null)
        {
            return;
        }

        cache.Invalidate(userId);
        if (_provider == 2)
        {
            return;
        }

        _waiting.Add(userId);
        if (_looping)
        {
            _wake.Writer.TryWrite(true);
        }
        else
        {
            FlushDetached();
        }
    }

    /// <summary>Call after the commit that changed these users' subscription state.</summary>
    public void Announce(IReadOnlyCollection<string> userIds)
    {
        foreach (var id in userIds)
        {
            Announce(id);
        }
    }

    public override void Dispose()
    {
        if (_sending.Wait(TimeSpan.FromSeconds(1)))
        {
            _connection?.Dispose();
            _connection = null;
            _sending.Release();
        }

        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await IsPostgresAsync().ConfigureAwait(false))
        {
            return;
        }

        _looping = true;
        _wake.Writer.TryWrite(true); // what was announced before the loop ran
        try
        {
            var failures = 0;
            while (await _wake.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                try
                {
                    await SendWaitingAsync(stoppingToken).ConfigureAwait(false);
                    failures = 0;
                }
                catch (Exception e) when (e is not OutOfMemoryException && !stoppingToken.IsCancellationRequested)
                {
                    if (failures++ < 3 || failures % 60 == 0)
                    {
                        Log.AnnouncementFailed(logger, e.GetType().Name);
                    }

                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, failures)), stoppingToken).ConfigureAwait(false);
                    _wake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stopping: send what waits, briefly; anything announced from now on is sent on its own.
            _looping = false;
            await FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends everything waiting on this instance's connection, one announcement at a time.</summary>
    private async Task SendWaitingAsync(CancellationToken ct)
    {
        await _sending.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            while (_waiting.Take() is { } announcement)
            {
                try
                {
                    using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    budget.CancelAfter(options.CurrentValue.DatabaseTimeout);
                    _connection ??= await ConnectAsync(budget.Token).ConfigureAwait(false);
                    await using var command = new NpgsqlCommand(AnnounceSql, _connection);
                    command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = announcement });
                    await command.ExecuteNonQueryAsync(budget.Token).ConfigureAwait(false);
                }
                catch
                {
                    _waiting.Return(announcement);
                    if (_connection is not null)
                    {
                        await _connection.DisposeAsync().ConfigureAwait(false);
                        _connection = null;
                    }

                    throw;
                }
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>Sends what waits within <see cref="FlushTimeout"/>; a failure is logged and what failed stays waiting.</summary>
    private async Task FlushAsync()
    {
        using var deadline = new CancellationTokenSource(FlushTimeout);
        try
        {
            if (await IsPostgresAsync().ConfigureAwait(false))
            {
                await SendWaitingAsync(deadline.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.AnnouncementFailed(logger, e.GetType().Name);
        }
    }

    /// <summary>Outside the loop: one flush at a time in the background, and another if more came meanwhile.</summary>
    private void FlushDetached()
    {
        if (Interlocked.Exchange(ref _detached, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await FlushAsync().ConfigureAwait(false);
            Volatile.Write(ref _detached, 0);
            if (!_looping && !_waiting.IsEmpty && _provider == 1)
            {
                FlushDetached();
            }
        });
    }

    /// <summary>Whether the host's database is PostgreSQL (asked once): with SQLite the cache serves one process, and other providers keep it off.</summary>
    private async Task<bool> IsPostgresAsync()
    {
        if (_provider != 0)
        {
            return _provider == 1;
        }

        await using var store = KavachDbScope.Open(scopes);
        var postgres = StoreProvider.IsPostgres(store.Db);
        _provider = postgres ? 1 : 2;
        if (!postgres)
        {
            _waiting.Clear();
        }

        return postgres;
    }

    /// <summary>
    /// A connection of its own, cloned from the host DbContext's (same data source, credentials and settings) but
    /// outside the pool, so that announcing never waits for a pooled connection the webhooks are using.
    /// </summary>
    private async Task<NpgsqlConnection> ConnectAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        var connection = await OwnConnections.CloneAsync((NpgsqlConnection)store.Db.Database.GetDbConnection(), "KavachPolar change announcer", ct).ConfigureAwait(false);
        var open = connection.OpenAsync(CancellationToken.None);
        try
        {
            // Npgsql heeds only the connection string's Timeout while a server accepts and then hangs.
            await open.WaitAsync(ct).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            _ = open.ContinueWith(_ => connection.Dispose(), TaskScheduler.Default);
            throw;
        }
    }
}
