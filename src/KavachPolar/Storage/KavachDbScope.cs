using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// One unit of work's database access: a DbContext of KavachPolar's own from a fresh service scope (never the host's
/// request-scoped instance, whose pending changes and transaction are the host's business; always tracking and
/// detecting changes whatever defaults the host configured), built on first use; or, on PostgreSQL, a raw connection
/// like that DbContext's (see <see cref="DirectPostgres"/>) for the hot paths' one command.
/// </summary>
internal sealed class KavachDbScope : IAsyncDisposable
{
    private readonly IServiceScopeFactory _scopes;
    private readonly DirectPostgres? _direct;
    private AsyncServiceScope? _scope;
    private DbContext? _db;
    private bool _opened;
    private NpgsqlConnection? _connection;
    private bool _ownsConnection;
    private Task? _pendingOpen;

    private KavachDbScope(IServiceScopeFactory scopes, DirectPostgres? direct)
    {
        _scopes = scopes;
        _direct = direct;
    }

    /// <summary>The DbContext, built on first use (EF Core opens its connection when a command needs it, or see <see cref="OpenAsync"/>).</summary>
    public DbContext Db => _db ??= CreateContext();

    /// <summary>A scope whose DbContext is built on first use; with <paramref name="direct"/>, <see cref="OpenDirectAsync"/> may skip it.</summary>
    public static KavachDbScope Open(IServiceScopeFactory scopes, DirectPostgres? direct = null) => new(scopes, direct);

    /// <summary>
    /// Opens the DbContext's connection, giving up at <paramref name="ct"/>. Npgsql honours only the connection
    /// string's Timeout, not the token, while it opens a connection to a server that accepts and then hangs; without
    /// this a request would wait out that timeout (a webhook would answer after Polar's 10 s). Once open, commands
    /// honour the token. An open given up on keeps running: disposal then waits for it in the background, so the
    /// connection is closed and its pool slot returned. Does nothing when already open.
    /// </summary>
    public async Task OpenAsync(CancellationToken ct)
    {
        if (_opened)
        {
            return;
        }

        if (_ownsConnection && _pendingOpen is null)
        {
            // The hot path handed over to the DbContext (a rare case): one connection at a time per unit of work.
            await _connection!.DisposeAsync().ConfigureAwait(false);
            _connection = null;
            _ownsConnection = false;
        }

        await WaitForOpenAsync(Db.Database.OpenConnectionAsync(ct), ct).ConfigureAwait(false);
        _opened = true;
    }

    /// <summary>
    /// An open raw PostgreSQL connection for one command, or <see langword="null"/> when the work must go through
    /// <see cref="Db"/> (another provider, EF Core interceptors to honour, or no <see cref="DirectPostgres"/>). The first
    /// unit of work learns which on its own DbContext and then uses that DbContext's connection.
    /// </summary>
    public async Task<NpgsqlConnection?> OpenDirectAsync(CancellationToken ct)
    {
        if (_connection is not null)
        {
            return _connection;
        }

        if (await LearnAsync(ct).ConfigureAwait(false) is not { Prototype: { } prototype })
        {
            return null;
        }

        if (_opened)
        {
            return _connection = (NpgsqlConnection)Db.Database.GetDbConnection();
        }

        var connection = (NpgsqlConnection)((ICloneable)prototype).Clone();
        _connection = connection;
        _ownsConnection = true;
        await WaitForOpenAsync(connection.OpenAsync(ct), ct).ConfigureAwait(false);
        return connection;
    }

    /// <summary>Runs one hot command on the connection <see cref="OpenDirectAsync"/> returned (see <see cref="DirectPostgres.QueryFirstAsync"/>).</summary>
    public Task<T?> QueryDirectAsync<T>(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T> read, CancellationToken ct)
        where T : class =>
        _direct!.QueryFirstAsync(connection, sql, parameters, read, ct);

    /// <summary>
    /// <see cref="QueryDirectAsync{T}(NpgsqlConnection, string, NpgsqlParameter[], Func{NpgsqlDataReader, T}, CancellationToken)"/>
    /// with one text argument (<c>$1</c>), for callers outside <c>Storage/</c>, which read the row as any ADO.NET row.
    /// </summary>
    public Task<T?> QueryDirectAsync<T>(NpgsqlConnection connection, string sql, string argument, Func<System.Data.Common.DbDataReader, T> read, CancellationToken ct)
        where T : class =>
        _direct!.QueryFirstAsync(connection, sql, [new NpgsqlParameter<string> { TypedValue = argument }], read, ct);

    /// <summary>
    /// Runs one hot command with one text array argument (<c>$1</c>) on the connection <see cref="OpenDirectAsync"/>
    /// returned, calling <paramref name="read"/> for each row.
    /// </summary>
    public Task QueryDirectEachAsync(NpgsqlConnection connection, string sql, string[] argument, Action<System.Data.Common.DbDataReader> read, CancellationToken ct) =>
        _direct!.QueryEachAsync(connection, sql, [new NpgsqlParameter<string[]> { TypedValue = argument }], read, ct);

    /// <summary>What <see cref="DirectPostgres"/> knows about the database, learnt on this scope's DbContext the first time.</summary>
    public async Task<DirectPostgres.State?> LearnAsync(CancellationToken ct)
    {
        if (_direct is null)
        {
            return null;
        }

        if (_direct.Current() is { } known)
        {
            return known;
        }

        await OpenAsync(ct).ConfigureAwait(false);
        return await _direct.LearnAsync(Db, ct).ConfigureAwait(false);
    }

    /// <summary>The function went missing: see <see cref="DirectPostgres.FunctionMissing"/>.</summary>
    public void FunctionMissing() => _direct?.FunctionMissing();

    public ValueTask DisposeAsync()
    {
        if (_pendingOpen is { IsCompleted: false } pending)
        {
            // Disposing a connection that is still connecting throws and leaks it; finish first.
            _ = pending.ContinueWith(
                    (_, state) => ((KavachDbScope)state!).DisposeNowAsync().AsTask(),
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.None,
                    TaskScheduler.Default)
                .Unwrap()
                .ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }

        return DisposeNowAsync();
    }

    private async ValueTask DisposeNowAsync()
    {
        if (_ownsConnection && _connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        if (_scope is { } scope)
        {
            await scope.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task WaitForOpenAsync(Task open, CancellationToken ct)
    {
        if (!open.IsCompleted)
        {
            _pendingOpen = open;
        }

        await open.WaitAsync(ct).ConfigureAwait(false);
        _pendingOpen = null;
    }

    private DbContext CreateContext()
    {
        var scope = _scopes.CreateAsyncScope();
        try
        {
            var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
            db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.TrackAll;
            db.ChangeTracker.AutoDetectChangesEnabled = true;

            // Each unit of work saves once inside its own transaction and is retried whole on failure:
            // EF's automatic savepoints would only add two round trips per SaveChanges.
            db.Database.AutoSavepointsEnabled = false;
            _scope = scope;
            return db;
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }
}
