using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// What KavachPolar knows about the host's database, learnt from a DbContext: whether it is PostgreSQL, whether the
/// webhook's one-statement function exists in this version's text (its comment carries
/// <see cref="WebhookFunction.Version"/>), and a closed connection cloned from the one that DbContext opened (same
/// data source, credentials, pool and callbacks). The hot paths (the webhook's common case and uncached reads) run
/// their one command on clones of it, without building a DbContext.
/// </summary>
/// <remarks>
/// The first unit of work learns it on its own DbContext; after that it is refreshed in the background once a minute
/// (a database migrated after start-up, a connection string changed by a configuration reload) while the last answer
/// keeps serving. A host whose DbContext has EF Core command, connection or transaction interceptors gets no clone:
/// every KavachPolar command then goes through EF Core, so those interceptors see it. KavachPolar serves one database
/// per application, as its background services (the <c>OnSubscriptionChange</c> dispatcher, the retention job, the
/// cache listener) do.
/// </remarks>
internal sealed class DirectPostgres(IServiceScopeFactory scopes, TimeProvider time, ILogger<DirectPostgres> logger)
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    private State? _state;
    private int _refreshing;
    private int _toldFunctionUnusable;
    private int _toldUnprepared;
    private string? _unpreparedConnectionString;

    /// <summary>What was learnt about the database.</summary>
    /// <param name="HasFunction">The webhook's one-statement function exists, in the version this code calls.</param>
    /// <param name="Prototype">Cloned for each direct command; <see langword="null"/> when every command must go through EF Core.</param>
    /// <param name="RefreshAfter">When to learn again (a <see cref="TimeProvider.GetTimestamp"/> value).</param>
    /// <param name="Prepare">Whether direct commands are prepared (see <see cref="QueryFirstAsync"/>).</param>
    internal sealed record State(bool HasFunction, NpgsqlConnection? Prototype, long RefreshAfter, bool Prepare = false);

    /// <summary>What was learnt, or <see langword="null"/> before the first answer; starts a background refresh when it is due.</summary>
    public State? Current()
    {
        var state = Volatile.Read(ref _state);
        if (state is not null && time.GetTimestamp() > state.RefreshAfter && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = Task.Run(RefreshAsync);
        }

        return state;
    }

    /// <summary>Learns from <paramref name="db"/>, whose connection the caller has opened, and remembers the answer.</summary>
    public async Task<State> LearnAsync(DbContext db, CancellationToken ct)
    {
        State state;
        if (!StoreProvider.IsPostgres(db))
        {
            state = new State(false, null, long.MaxValue);
        }
        else if (!HasStandardTables(db))
        {
            // The raw commands and the function name kavach_users and kavach_polar_subscriptions as they stand; a host
            // that mapped them elsewhere (a schema of its own, say) keeps every command in EF Core, which knows where.
            state = new State(false, null, long.MaxValue);
        }
        else
        {
            // Through EF Core, so that a host's interceptors see this command too. Null: no function; else its comment,
            // which carries the version mark ('' for the functions shipped before marks).
            var mark = await db.Database
                .SqlQueryRaw<string?>(FunctionMarkSql)
                .SingleAsync(ct).ConfigureAwait(false);
            var hasFunction = mark == WebhookFunction.Version;
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            var prototype = HasInterceptors(db) ? null : (NpgsqlConnection)((ICloneable)connection).Clone();
            state = new State(hasFunction, prototype, After(RefreshEvery), Prepares(connection.ConnectionString));
            if (!hasFunction && Interlocked.Exchange(ref _toldFunctionUnusable, 1) == 0)
            {
                var found = mark switch
                {
                    null => "missing",
                    "" => "an earlier version (no version mark)",
                    _ => $"another version ('{mark}')",
                };
                Log.WebhookFunctionUnusable(logger, found, WebhookFunction.Version);
            }
        }

        Volatile.Write(ref _state, state);
        return state;
    }

    /// <summary>
    /// Runs one hot command on a raw connection (see <see cref="KavachDbScope.OpenDirectAsync"/>) and reads its first
    /// row, or <see langword="null"/> when it answers none.
    /// </summary>
    /// <remarks>
    /// The command is prepared, once per physical connection, where Npgsql's pool resets connections (pooling on, no
    /// <c>No Reset On Close</c>): a pooled connection that holds a prepared statement is reset without
    /// <c>DISCARD ALL</c>, which would throw away the webhook function's cached plans and make every call plan its
    /// dozen statements again (about 0.8 ms of PostgreSQL CPU a call). Without that reset (<c>No Reset On Close=true</c>,
    /// Npgsql's setting for a pooler in transaction mode, or <c>Pooling=false</c>) preparing would save only the parse,
    /// and behind such a pooler, where each transaction may run on another server connection, it fails: the commands
    /// then run unprepared. A prepared command that fails the way it does there (<c>42P05</c>, <c>26000</c>, <c>08P01</c>:
    /// the statement did not run) runs again unprepared, and so does every later one on this data source (warning 4009).
    /// </remarks>
    public Task<T?> QueryFirstAsync<T>(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T> read, CancellationToken ct)
        where T : class =>
        QueryAsync(connection, sql, parameters, read, static async (reader, read, t) => await reader.ReadAsync(t).ConfigureAwait(false) ? read(reader) : null, ct);

    /// <summary>As <see cref="QueryFirstAsync"/>, calling <paramref name="read"/> for every row the command returns.</summary>
    public Task QueryEachAsync(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, Action<NpgsqlDataReader> read, CancellationToken ct) =>
        QueryAsync(connection, sql, parameters, read, static async (reader, read, t) =>
        {
            while (await reader.ReadAsync(t).ConfigureAwait(false))
            {
                read(reader);
            }

            return true;
        }, ct);

    private async Task<T> QueryAsync<TRead, T>(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, TRead read, Func<NpgsqlDataReader, TRead, CancellationToken, ValueTask<T>> consume, CancellationToken ct)
    {
        if (Volatile.Read(ref _state) is { Prepare: true })
        {
            try
            {
                return await RunAsync(connection, sql, parameters, read, consume, prepare: true, ct).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicatePreparedStatement or PostgresErrorCodes.InvalidSqlStatementName or PostgresErrorCodes.ProtocolViolation)
            {
                StopPreparing(connection.ConnectionString, e.SqlState);
            }
        }

        return await RunAsync(connection, sql, parameters, read, consume, prepare: false, ct).ConfigureAwait(false);
    }

    private static async Task<T> RunAsync<TRead, T>(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, TRead read, Func<NpgsqlDataReader, TRead, CancellationToken, ValueTask<T>> consume, bool prepare, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        try
        {
            if (prepare)
            {
                await command.PrepareAsync(ct).ConfigureAwait(false);
            }

            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await consume(reader, read, ct).ConfigureAwait(false);
        }
        finally
        {
            command.Parameters.Clear(); // a parameter belongs to one command at a time: free them for a second try
        }
    }

    /// <summary>Prepared commands failed on this data source as they do behind a pooler in transaction mode: never again for it.</summary>
    private void StopPreparing(string connectionString, string sqlState)
    {
        Volatile.Write(ref _unpreparedConnectionString, connectionString);
        if (Volatile.Read(ref _state) is { Prepare: true } state && state.Prototype?.ConnectionString == connectionString)
        {
            Volatile.Write(ref _state, state with { Prepare = false });
        }

        if (Interlocked.Exchange(ref _toldUnprepared, 1) == 0)
        {
            Log.PreparedStatementsFailed(logger, sqlState);
        }
    }

    /// <summary>Whether commands on a connection with <paramref name="connectionString"/> are prepared (see <see cref="QueryFirstAsync"/>).</summary>
    private bool Prepares(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        return settings.Pooling && !settings.NoResetOnClose && connectionString != Volatile.Read(ref _unpreparedConnectionString);
    }

    /// <summary>The function went missing (dropped after it was learnt): the general path until the next refresh.</summary>
    public void FunctionMissing()
    {
        if (Volatile.Read(ref _state) is { } state)
        {
            Volatile.Write(ref _state, state with { HasFunction = false });
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource();
            using var deadline = Deadline.Cancel(cts, TimeSpan.FromSeconds(30));
            await using var store = KavachDbScope.Open(scopes);
            await store.OpenAsync(cts.Token).ConfigureAwait(false);
            await LearnAsync(store.Db, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Asked again a few seconds later; meanwhile the last answer keeps serving.
            Log.DatabaseProbeFailed(logger, e);
            if (Volatile.Read(ref _state) is { } old)
            {
                Volatile.Write(ref _state, old with { RefreshAfter = After(RetryAfterFailure) });
            }
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>
    /// The comment of the function with today's signature; else of any visible function of that name (an earlier
    /// version may take other arguments); null when there is none.
    /// </summary>
    private const string FunctionMarkSql =
        "SELECT coalesce("
        + "(SELECT coalesce(obj_description(f.p::oid, 'pg_proc'), '') FROM (SELECT to_regprocedure('" + WebhookFunction.Signature + "') AS p) AS f WHERE f.p IS NOT NULL), "
        + "(SELECT coalesce(obj_description(p.oid, 'pg_proc'), '') FROM pg_proc p WHERE p.proname = '" + WebhookFunction.Function + "' AND pg_function_is_visible(p.oid) ORDER BY p.oid DESC LIMIT 1)"
        + ") AS \"Value\"";

    private long After(TimeSpan delay) => time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);

    private static bool HasStandardTables(DbContext db) =>
        IsStandard(db, typeof(KavachUser), "kavach_users")
        && IsStandard(db, typeof(SubscriptionRecord), "kavach_polar_subscriptions")
        && IsStandard(db, typeof(WebhookEventRecord), "kavach_polar_webhook_events")
        && IsStandard(db, typeof(PendingCallbackRecord), "kavach_polar_callbacks")
        && IsStandard(db, typeof(ForgottenUserRecord), "kavach_polar_forgotten_users");

    private static bool IsStandard(DbContext db, Type entity, string table) => StoreProvider.Table(db, entity, table) == table;

    /// <summary>Whether the DbContext has EF Core command, connection or transaction interceptors (then every command goes through EF Core, so they see it).</summary>
    internal static bool HasInterceptors(DbContext db)
    {
        var interceptors = db.GetService<IInterceptors>();
        return interceptors.Aggregate<IDbCommandInterceptor>() is not null
            || interceptors.Aggregate<IDbConnectionInterceptor>() is not null
            || interceptors.Aggregate<IDbTransactionInterceptor>() is not null;
    }
}
