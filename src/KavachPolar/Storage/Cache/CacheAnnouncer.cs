using System.Text;
using System.Threading.Channels;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KavachPolar.Storage.Cache;

/// <summary>
/// Tells every instance's <see cref="SubscriptionCache"/> that users' subscription state changed. Called after the
/// commit: this instance forgets them at once; the other instances hear it through PostgreSQL <c>NOTIFY</c> (see
/// <see cref="CacheListener"/>), sent on a connection of its own by a background loop that batches what
/// accumulates while one announcement is on its way.
/// </summary>
/// <remarks>
/// Never inside the change's own transaction: PostgreSQL serializes the commits of notifying transactions on one
/// database-wide lock that is held through the commit's WAL flush, so with durable commits (the default) every
/// webhook would wait for every other's flush (measured: 0.15× of the floor, against 0.9× without). An announcement that
/// fails is sent again (at once on a fresh connection when a kept one had gone stale, then with back-off); when more
/// users wait than one announcement should carry, every instance is told to forget everyone. Outside a running host
/// (before it starts, after it stops, or in a process that never starts its hosted services, such as a job) the caller
/// awaits the announcement itself, for at most <see cref="FlushTimeout"/>. If the process dies between a commit and
/// its announcement, the other instances keep what they cached for at most <see cref="KavachPolarOptions.ReadCacheExpiry"/>.
/// </remarks>
internal sealed class CacheAnnouncer(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    IOptionsMonitor<KavachPolarOptions> options,
    KavachPolarMetrics metrics,
    TimeProvider time,
    ILogger<CacheAnnouncer> logger) : BackgroundService
{
    /// <summary>How long stopping, or an announcement outside a running host, may spend sending what waits.</summary>
    internal static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

    // One statement with a positional parameter (no SQL rewriting needed). synchronous_commit is off for this
    // statement's own transaction only (set_config's third argument): a commit that only notifies writes no WAL to
    // wait for today, and this keeps it so whatever PostgreSQL does with it.
    private const string AnnounceSql = "SELECT pg_notify('" + CacheChannel.Name + "', u) FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s, unnest($1::text[]) AS u";

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly WaitingAnnouncements _waiting = Observed(metrics);
    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _sending = new(1, 1);
    private NpgsqlConnection? _connection; // guarded by _sending
    private volatile int _provider; // 0: not asked yet, 1: PostgreSQL, 2: another provider (nobody to tell)
    private volatile bool _looping;
    private volatile bool _disposed;
    private readonly FailureRun _failures = new();

    /// <summary>How many users wait to be announced (those in flight included).</summary>
    public int Waiting => _waiting.Count;

    /// <summary>
    /// Call after the commit that changed <paramref name="userId"/>'s subscription state (null: nothing changed). Returns
    /// at once while the host runs; otherwise once the announcement is sent, or given up after <see cref="FlushTimeout"/>.
    /// </summary>
    public ValueTask AnnounceAsync(string? userId) => userId is null ? ValueTask.CompletedTask : AnnounceAsync([userId]);

    /// <summary>Call after the commit that changed these users' subscription state (see the other overload).</summary>
    public ValueTask AnnounceAsync(IReadOnlyCollection<string> userIds)
    {
        if (userIds.Count == 0 || _disposed)
        {
            return ValueTask.CompletedTask;
        }

        foreach (var id in userIds)
        {
            cache.Invalidate(id);
            // An id no row can have (too long, or text PostgreSQL cannot hold) would make every announcement it is in
            // fail: nobody caches it, so there is nothing to tell.
            if (_provider != 2 && id.Length <= Limits.UserId && ReferenceEquals(TextSafety.ForTextColumn(id), id))
            {
                _waiting.Add(id);
            }
        }

        if (_provider == 2 || _waiting.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        if (_looping)
        {
            _wake.Writer.TryWrite(true);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(FlushAsync());
    }

    public override void Dispose()
    {
        _disposed = true;
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
            while (await _wake.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                try
                {
                    await SendWaitingAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException && !stoppingToken.IsCancellationRequested)
                {
                    var failures = LogFailure(e);
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, failures)), time, stoppingToken).ConfigureAwait(false);
                    _wake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stopping: send what waits, briefly; from now on callers send their own announcements.
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
                    await SendAsync(announcement, ct).ConfigureAwait(false);
                    _waiting.Sent(announcement);
                    metrics.CountAnnouncement(sent: true);
                    _failures.End(); // the log's rate limit and the back-off count the run
                }
                catch (Exception e) when (e is PostgresException { SqlState: ['2', '2', ..] } or EncoderFallbackException)
                {
                    // The announcement itself is refused (a data exception): sending it again would fail again and
                    // hold back every later one. Every instance forgets everyone instead.
                    _waiting.Sent(announcement);
                    _waiting.Add(WaitingAnnouncements.Everyone);
                    throw;
                }
                catch
                {
                    _waiting.Return(announcement);
                    throw;
                }
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>One announcement; on a kept connection that fails, once more at once on a fresh one (the server or a pooler may have closed it while idle).</summary>
    private async Task SendAsync(string[] announcement, CancellationToken ct)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var timer = Deadline.Cancel(budget, options.CurrentValue.DatabaseTimeout);
        var kept = _connection is not null;
        try
        {
            await ExecuteAsync(announcement, budget.Token).ConfigureAwait(false);
        }
        catch (Exception) when (kept && !budget.IsCancellationRequested)
        {
            await DropConnectionAsync().ConfigureAwait(false);
            await ExecuteAsync(announcement, budget.Token).ConfigureAwait(false);
        }
        catch
        {
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ExecuteAsync(string[] announcement, CancellationToken ct)
    {
        _connection ??= await ConnectAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(AnnounceSql, _connection);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = announcement });
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    /// <summary>Sends what waits within <see cref="FlushTimeout"/>; a failure is logged and what failed stays waiting.</summary>
    private async Task FlushAsync()
    {
        if (_disposed)
        {
            return;
        }

        using var deadline = new CancellationTokenSource();
        using var timer = Deadline.Cancel(deadline, FlushTimeout);
        try
        {
            if (await IsPostgresAsync().ConfigureAwait(false))
            {
                await SendWaitingAsync(deadline.Token).ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
            // The host's services are gone: nothing can be sent from this process any more.
            _disposed = true;
            _waiting.Clear();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailure(e);
        }
    }

    /// <summary>Counts a failure and logs it as <see cref="FailureRun"/> says; returns how many in a row.</summary>
    private int LogFailure(Exception e)
    {
        metrics.CountAnnouncement(sent: false);
        var (failures, log) = _failures.Fail();
        if (log)
        {
            Log.AnnouncementFailed(logger, e.GetType().Name);
        }

        return failures;
    }

    /// <summary>Up to 10 000 users waiting (beyond that, everyone), 1 000 named per announcement; their number is a gauge.</summary>
    private static WaitingAnnouncements Observed(KavachPolarMetrics metrics)
    {
        var waiting = new WaitingAnnouncements(maxWaiting: 10_000, perAnnouncement: 1_000);
        metrics.ObserveAnnouncementsWaiting(() => waiting.Count);
        return waiting;
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
    /// A connection of its own (see <see cref="OwnConnections"/>) outside the pool, so that announcing never waits for a
    /// pooled connection the webhooks are using.
    /// </summary>
    private async Task<NpgsqlConnection> ConnectAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        var connection = await OwnConnections.CloneAsync((NpgsqlConnection)store.Db.Database.GetDbConnection(), options.CurrentValue.NotificationConnectionString, "KavachPolar change announcer", ct).ConfigureAwait(false);
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
