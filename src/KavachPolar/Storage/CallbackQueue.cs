using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace KavachPolar.Storage;

/// <summary>
/// The <c>kavach_polar_callbacks</c> queue. On PostgreSQL, leases and due times are compared with the database's
/// clock (never an instance's), a claim is one statement (<c>FOR UPDATE SKIP LOCKED</c>, <c>RETURNING</c> the rows),
/// and a batch settles in one round trip. Other providers use EF Core and this instance's clock; SQLite, the
/// embedded default, serves one process anyway.
/// </summary>
internal static class CallbackQueue
{
    private const string DbNowUs = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

    public static bool UsesDatabaseClock(DbContext db) => StoreProvider.IsPostgres(db);

    /// <summary>
    /// Claims up to <paramref name="max"/> due rows, each the oldest pending row of its user (a later change waits
    /// for the earlier one, so the batch may run in parallel), under the lease token <paramref name="owner"/>.
    /// </summary>
    public static async Task<List<ClaimedCallback>> ClaimAsync(DbContext db, string owner, int max, TimeSpan lease, long localNowUs)
    {
        if (!UsesDatabaseClock(db))
        {
            var set = db.Set<PendingCallbackRecord>();
            var due = await set.AsNoTracking()
                .Where(c => c.NextAttemptAtUs <= localNowUs
                            && (c.LockedUntilUs == null || c.LockedUntilUs < localNowUs)
                            && !set.Any(e => e.UserId == c.UserId && e.Id < c.Id))
                .OrderBy(c => c.Id)
                .Select(c => c.Id)
                .Take(max)
                .ToListAsync(CancellationToken.None)
                .ConfigureAwait(false);
            if (due.Count == 0)
            {
                return [];
            }

            var leaseUntil = localNowUs + (long)lease.TotalMicroseconds;
            await set
                .Where(c => due.Contains(c.Id) && c.NextAttemptAtUs <= localNowUs && (c.LockedUntilUs == null || c.LockedUntilUs < localNowUs))
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, leaseUntil).SetProperty(c => c.LockOwner, owner), CancellationToken.None)
                .ConfigureAwait(false);
            return await set.AsNoTracking()
                .Where(c => due.Contains(c.Id) && c.LockOwner == owner)
                .Select(c => new ClaimedCallback(c.Id, c.UserId, c.Change, c.Attempts, owner))
                .ToListAsync(CancellationToken.None)
                .ConfigureAwait(false);
        }

        // Through EF Core (not a bare NpgsqlCommand), so that the host's interceptors, logging and diagnostics see it.
        var claimed = await db.Database.SqlQueryRaw<ClaimRow>(
            InSchemaOf(db, ClaimSql),
            new NpgsqlParameter<int>("max", max),
            new NpgsqlParameter<long>("lease", (long)lease.TotalMicroseconds),
            new NpgsqlParameter<string>("owner", owner))
            .ToListAsync(CancellationToken.None)
            .ConfigureAwait(false);
        return claimed.OrderBy(c => c.Id).Select(c => new ClaimedCallback(c.Id, c.UserId, c.Change, c.Attempts, owner)).ToList();
    }

    /// <summary>
    /// The PostgreSQL claim (parameters <c>@max</c>, <c>@lease</c> in microseconds, <c>@owner</c>): due, unleased rows
    /// that are their user's earliest, in id order, leased on the database clock.
    /// </summary>
    /// <remarks>
    /// Its plan needs statistics that know the backlog: see <see cref="AnalyzeAsync"/>.
    /// </remarks>
    internal const string ClaimSql = $"""
        WITH now_us AS (SELECT {DbNowUs} AS v),
        due AS (
            SELECT c.id FROM kavach_polar_callbacks c, now_us
            WHERE c.next_attempt_at_us <= now_us.v
              AND (c.locked_until_us IS NULL OR c.locked_until_us < now_us.v)
              AND NOT EXISTS (SELECT 1 FROM kavach_polar_callbacks e WHERE e.user_id = c.user_id AND e.id < c.id)
            ORDER BY c.id
            LIMIT @max
            FOR UPDATE OF c SKIP LOCKED)
        UPDATE kavach_polar_callbacks c
        SET locked_until_us = (SELECT v FROM now_us) + @lease, lock_owner = @owner
        FROM due WHERE c.id = due.id
        RETURNING c.id AS "Id", c.user_id AS "UserId", c.change AS "Change", c.attempts AS "Attempts"
        """;

    /// <summary>
    /// Whether any row is due now (by the database's clock), asked on a raw pooled connection cloned from the
    /// DbContext's, so that the idle dispatcher's look at the queue writes no EF Core log line; <see langword="null"/>
    /// when it cannot be asked that way (another provider, or EF Core interceptors, which must see every command): the
    /// caller claims instead. A row waiting behind its user's earlier row counts as due: the claim that follows sorts it out.
    /// </summary>
    public static async Task<bool?> AnyDueQuietlyAsync(DbContext db, CancellationToken ct)
    {
        if (!UsesDatabaseClock(db) || DirectPostgres.HasInterceptors(db))
        {
            return null;
        }

        await using var connection = (NpgsqlConnection)((ICloneable)db.Database.GetDbConnection()).Clone();
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(InSchemaOf(db, AnyDueSql), connection);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
    }

    private const string AnyDueSql = $"""
        SELECT EXISTS (SELECT 1 FROM kavach_polar_callbacks c, (SELECT {DbNowUs} AS v) now_us
                       WHERE c.next_attempt_at_us <= now_us.v AND (c.locked_until_us IS NULL OR c.locked_until_us < now_us.v))
        """;

    /// <summary>
    /// Refreshes the queue's planner statistics (PostgreSQL). A queue's statistics are often those of an empty moment
    /// (autovacuum ran just after it drained, and runs at most once a minute); with them the planner checks each due
    /// row's user against every earlier row, and a claim under a backlog of 100 000 rows took minutes while the backlog
    /// grew. The dispatcher calls this while a backlog lasts. Without the privilege (not the table's owner) PostgreSQL
    /// skips it with a warning.
    /// </summary>
    public static async Task AnalyzeAsync(DbContext db)
    {
        if (UsesDatabaseClock(db))
        {
            await db.Database.ExecuteSqlRawAsync(InSchemaOf(db, "ANALYZE kavach_polar_callbacks"), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A row as the PostgreSQL claim returns it.</summary>
    private sealed class ClaimRow
    {
        public long Id { get; set; }

        public string UserId { get; set; } = "";

        public string Change { get; set; } = "";

        public int Attempts { get; set; }
    }

    /// <summary>Extends the leases of rows still held (each under its own token) by <paramref name="lease"/> from now.</summary>
    public static async Task RenewAsync(DbContext db, IReadOnlyCollection<(long Id, string Owner)> held, TimeSpan lease, long localNowUs)
    {
        if (held.Count == 0)
        {
            return;
        }

        if (!UsesDatabaseClock(db))
        {
            var until = localNowUs + (long)lease.TotalMicroseconds;
            foreach (var group in held.GroupBy(h => h.Owner))
            {
                var ids = group.Select(h => h.Id).ToList();
                await db.Set<PendingCallbackRecord>().Where(c => ids.Contains(c.Id) && c.LockOwner == group.Key)
                    .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, until), CancellationToken.None).ConfigureAwait(false);
            }

            return;
        }

        await db.Database.ExecuteSqlRawAsync(
            InSchemaOf(db, RenewSql),
            [new NpgsqlParameter<long>("lease", (long)lease.TotalMicroseconds), .. Keys(held)],
            CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the rows whose callback succeeded and schedules the others' next attempt, releasing their lease
    /// unless <see cref="Settlement.KeepLease"/>; only rows still held under the same token are touched.
    /// </summary>
    public static async Task SettleAsync(DbContext db, IReadOnlyCollection<Settlement> settlements, long localNowUs)
    {
        if (settlements.Count == 0)
        {
            return;
        }

        var done = settlements.Where(s => s.Succeeded).Select(s => (s.Id, s.Owner)).ToList();
        var failed = settlements.Where(s => !s.Succeeded).ToList();
        if (!UsesDatabaseClock(db))
        {
            var set = db.Set<PendingCallbackRecord>();
            foreach (var group in done.GroupBy(s => s.Owner))
            {
                var ids = group.Select(s => s.Id).ToList();
                await set.Where(c => ids.Contains(c.Id) && c.LockOwner == group.Key).ExecuteDeleteAsync(CancellationToken.None).ConfigureAwait(false);
            }

            foreach (var s in failed)
            {
                var next = localNowUs + (long)s.Delay.TotalMicroseconds;
                var keep = s.KeepLease;
                await set.Where(c => c.Id == s.Id && c.LockOwner == s.Owner)
                    .ExecuteUpdateAsync(
                        u => u.SetProperty(c => c.Attempts, s.Attempts)
                            .SetProperty(c => c.NextAttemptAtUs, next)
                            .SetProperty(c => c.LastError, s.Error)
                            .SetProperty(c => c.LockedUntilUs, c => keep ? c.LockedUntilUs : null)
                            .SetProperty(c => c.LockOwner, c => keep ? c.LockOwner : null),
                        CancellationToken.None)
                    .ConfigureAwait(false);
            }

            return;
        }

        await db.Database.ExecuteSqlRawAsync(
            InSchemaOf(db, SettleSql),
            [
                .. Keys(done),
                new NpgsqlParameter<long[]>("failed_ids", failed.Select(s => s.Id).ToArray()),
                new NpgsqlParameter<string[]>("failed_owners", failed.Select(s => s.Owner).ToArray()),
                new NpgsqlParameter<int[]>("attempts", failed.Select(s => s.Attempts).ToArray()),
                new NpgsqlParameter<long[]>("delays", failed.Select(s => (long)s.Delay.TotalMicroseconds).ToArray()),
                new NpgsqlParameter("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = failed.Select(s => (object?)s.Error ?? DBNull.Value).ToArray() },
                new NpgsqlParameter<bool[]>("keeps", failed.Select(s => s.KeepLease).ToArray()),
            ],
            CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Hands rows held under their tokens back without running them (or after an abandoned run ended).</summary>
    public static async Task ReleaseAsync(DbContext db, IReadOnlyCollection<(long Id, string Owner)> held)
    {
        if (held.Count == 0)
        {
            return;
        }

        if (!UsesDatabaseClock(db))
        {
            foreach (var group in held.GroupBy(h => h.Owner))
            {
                var ids = group.Select(h => h.Id).ToList();
                await db.Set<PendingCallbackRecord>().Where(c => ids.Contains(c.Id) && c.LockOwner == group.Key)
                    .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, (long?)null).SetProperty(c => c.LockOwner, (string?)null), CancellationToken.None)
                    .ConfigureAwait(false);
            }

            return;
        }

        await db.Database.ExecuteSqlRawAsync(
            InSchemaOf(db, ReleaseSql),
            Keys(held),
            CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Hands back every row leased under <paramref name="owner"/> (a claim whose answer was lost).</summary>
    public static Task<int> ReleaseOwnerAsync(DbContext db, string owner) =>
        db.Set<PendingCallbackRecord>().Where(c => c.LockOwner == owner)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.LockedUntilUs, (long?)null).SetProperty(c => c.LockOwner, (string?)null), CancellationToken.None);

    /// <summary>
    /// Locks the rows about to be written in id order, first, in the same command: renewals, settlements and releases
    /// of overlapping batches (the renewal loop runs beside the batch it renews) then queue up instead of deadlocking.
    /// </summary>
    private const string RenewSql = $"""
        {LockInIdOrder}
        UPDATE kavach_polar_callbacks c SET locked_until_us = {DbNowUs} + @lease
        FROM unnest(@ids, @owners) AS r(id, owner)
        WHERE c.id = r.id AND c.lock_owner = r.owner
        """;

    // The statements in one command: one implicit transaction, one round trip for the whole batch.
    private const string SettleSql = $"""
        {LockSettledInIdOrder}
        DELETE FROM kavach_polar_callbacks c USING unnest(@ids, @owners) AS r(id, owner)
        WHERE c.id = r.id AND c.lock_owner = r.owner;
        UPDATE kavach_polar_callbacks c
        SET attempts = r.attempts,
            next_attempt_at_us = {DbNowUs} + r.delay_us,
            last_error = r.error,
            locked_until_us = CASE WHEN r.keep THEN c.locked_until_us END,
            lock_owner = CASE WHEN r.keep THEN c.lock_owner END
        FROM unnest(@failed_ids, @failed_owners, @attempts, @delays, @errors, @keeps) AS r(id, owner, attempts, delay_us, error, keep)
        WHERE c.id = r.id AND c.lock_owner = r.owner
        """;

    private const string ReleaseSql = $"""
        {LockInIdOrder}
        UPDATE kavach_polar_callbacks c SET locked_until_us = NULL, lock_owner = NULL
        FROM unnest(@ids, @owners) AS r(id, owner)
        WHERE c.id = r.id AND c.lock_owner = r.owner
        """;

    /// <summary>
    /// <paramref name="sql"/> with the queue table where the host's model puts it (a schema of its own, say); the
    /// statements name <c>kavach_polar_callbacks</c> as it stands by default.
    /// </summary>
    private static string InSchemaOf(DbContext db, string sql) =>
        StoreProvider.Table(db, typeof(PendingCallbackRecord), Table) is { } table && table != Table
            ? sql.Replace(Table, table, StringComparison.Ordinal)
            : sql;

    private const string Table = "kavach_polar_callbacks";

    private const string LockInIdOrder = "SELECT FROM kavach_polar_callbacks WHERE id = ANY(@ids) ORDER BY id FOR UPDATE;";

    /// <summary><see cref="LockInIdOrder"/> for a settlement: the succeeded and the failed rows together.</summary>
    private const string LockSettledInIdOrder = "SELECT FROM kavach_polar_callbacks WHERE id = ANY(@ids || @failed_ids) ORDER BY id FOR UPDATE;";

    private static NpgsqlParameter[] Keys(IReadOnlyCollection<(long Id, string Owner)> keys) =>
    [
        new NpgsqlParameter<long[]>("ids", keys.Select(k => k.Id).ToArray()),
        new NpgsqlParameter<string[]>("owners", keys.Select(k => k.Owner).ToArray()),
    ];
}
