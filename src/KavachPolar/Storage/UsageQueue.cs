using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// The <c>kavach_polar_usage_events</c> queue, as the sender uses it. On PostgreSQL a claim is one statement
/// (<c>FOR UPDATE SKIP LOCKED</c>, <c>RETURNING</c> the rows) and leases and due times are compared with the database's
/// clock; other providers use EF Core and this instance's clock (SQLite serves one process anyway). A lease only saves
/// work: two instances sending the same event is harmless, since Polar keeps each <c>external_id</c> once.
/// </summary>
internal static class UsageQueue
{
    private const string Table = "kavach_polar_usage_events";
    private const string DbNowUs = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

    /// <summary>A claimed event, as the sender sends it.</summary>
    internal sealed class Claimed
    {
        public long Id { get; set; }

        public string UserId { get; set; } = "";

        public string Name { get; set; } = "";

        public string ExternalId { get; set; } = "";

        public string Metadata { get; set; } = "{}";

        public long TimestampUs { get; set; }

        public int Attempts { get; set; }
    }

    /// <summary>Claims up to <paramref name="max"/> due events (not accepted, not quarantined, not leased), oldest first.</summary>
    public static async Task<List<Claimed>> ClaimAsync(DbContext db, string owner, int max, TimeSpan lease, long localNowUs, CancellationToken ct)
    {
        if (!StoreProvider.IsPostgres(db))
        {
            var set = db.Set<UsageEventRecord>();
            var due = await set.AsNoTracking()
                .Where(e => e.AcceptedAtUs == null && e.QuarantinedAt == null && e.NextAttemptAtUs <= localNowUs
                            && (e.LockedUntilUs == null || e.LockedUntilUs < localNowUs))
                .OrderBy(e => e.Id).Select(e => e.Id).Take(max).ToListAsync(ct).ConfigureAwait(false);
            if (due.Count == 0)
            {
                return [];
            }

            var until = localNowUs + (long)lease.TotalMicroseconds;
            await set.Where(e => due.Contains(e.Id) && (e.LockedUntilUs == null || e.LockedUntilUs < localNowUs))
                .ExecuteUpdateAsync(u => u.SetProperty(e => e.LockedUntilUs, until).SetProperty(e => e.LockOwner, owner), ct).ConfigureAwait(false);
            return await set.AsNoTracking().Where(e => due.Contains(e.Id) && e.LockOwner == owner).OrderBy(e => e.Id)
                .Select(e => new Claimed { Id = e.Id, UserId = e.UserId, Name = e.Name, ExternalId = e.ExternalId, Metadata = e.Metadata, TimestampUs = e.TimestampUs, Attempts = e.Attempts })
                .ToListAsync(ct).ConfigureAwait(false);
        }

        var rows = await db.Database.SqlQueryRaw<Claimed>(
                InSchemaOf(db, ClaimSql),
                new NpgsqlParameter<int>("max", max),
                new NpgsqlParameter<long>("lease", (long)lease.TotalMicroseconds),
                new NpgsqlParameter<string>("owner", owner))
            .ToListAsync(ct).ConfigureAwait(false);
        return rows.OrderBy(r => r.Id).ToList();
    }

    internal const string ClaimSql = $"""
        WITH now_us AS (SELECT {DbNowUs} AS v),
        due AS (
            SELECT u.id FROM kavach_polar_usage_events u, now_us
            WHERE u.accepted_at_us IS NULL AND u.quarantined_at IS NULL
              AND u.next_attempt_at_us <= now_us.v
              AND (u.locked_until_us IS NULL OR u.locked_until_us < now_us.v)
            ORDER BY u.id
            LIMIT @max
            FOR UPDATE OF u SKIP LOCKED)
        UPDATE kavach_polar_usage_events u
        SET locked_until_us = (SELECT v FROM now_us) + @lease, lock_owner = @owner
        FROM due WHERE u.id = due.id
        RETURNING u.id AS "Id", u.user_id AS "UserId", u.name AS "Name", u.external_id AS "ExternalId",
                  u.metadata AS "Metadata", u.timestamp_us AS "TimestampUs", u.attempts AS "Attempts"
        """;

    /// <summary>Polar took these (inserted, or duplicates of events it already had): accepted, lease released.</summary>
    public static Task<int> AcceptAsync(DbContext db, IReadOnlyCollection<long> ids, string owner, long localNowUs, CancellationToken ct) =>
        db.Set<UsageEventRecord>().Where(e => ids.Contains(e.Id) && e.LockOwner == owner)
            .ExecuteUpdateAsync(
                u => u.SetProperty(e => e.AcceptedAtUs, localNowUs).SetProperty(e => e.LastError, (string?)null)
                    .SetProperty(e => e.LockedUntilUs, (long?)null).SetProperty(e => e.LockOwner, (string?)null),
                ct);

    /// <summary>Polar's validation refused this one: kept with Polar's error, never sent again unless replayed.</summary>
    public static Task<int> QuarantineAsync(DbContext db, long id, string owner, string error, DateTimeOffset now, CancellationToken ct)
    {
        var text = TextSafety.ForTextColumn(error, Limits.Error);
        return db.Set<UsageEventRecord>().Where(e => e.Id == id && e.LockOwner == owner)
            .ExecuteUpdateAsync(
                u => u.SetProperty(e => e.QuarantinedAt, now).SetProperty(e => e.LastError, text).SetProperty(e => e.Attempts, e => e.Attempts + 1)
                    .SetProperty(e => e.LockedUntilUs, (long?)null).SetProperty(e => e.LockOwner, (string?)null),
                ct);
    }

    /// <summary>Not sent or not answered: tried again after <paramref name="delay"/> (from the database's clock on PostgreSQL).</summary>
    public static async Task RetryAsync(DbContext db, IReadOnlyCollection<long> ids, string owner, TimeSpan delay, string error, long localNowUs, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return;
        }

        var text = TextSafety.ForTextColumn(error, Limits.Error);
        if (StoreProvider.IsPostgres(db))
        {
            await db.Database.ExecuteSqlRawAsync(
                InSchemaOf(db, $"""
                    UPDATE kavach_polar_usage_events
                    SET attempts = attempts + 1, next_attempt_at_us = {DbNowUs} + @delay, last_error = @error,
                        locked_until_us = NULL, lock_owner = NULL
                    WHERE id = ANY(@ids) AND lock_owner = @owner
                    """),
                [
                    new NpgsqlParameter<long[]>("ids", ids.ToArray()),
                    new NpgsqlParameter<string>("owner", owner),
                    new NpgsqlParameter<long>("delay", (long)delay.TotalMicroseconds),
                    new NpgsqlParameter<string>("error", text ?? ""),
                ],
                ct).ConfigureAwait(false);
            return;
        }

        var next = localNowUs + (long)delay.TotalMicroseconds;
        await db.Set<UsageEventRecord>().Where(e => ids.Contains(e.Id) && e.LockOwner == owner)
            .ExecuteUpdateAsync(
                u => u.SetProperty(e => e.Attempts, e => e.Attempts + 1).SetProperty(e => e.NextAttemptAtUs, next).SetProperty(e => e.LastError, text)
                    .SetProperty(e => e.LockedUntilUs, (long?)null).SetProperty(e => e.LockOwner, (string?)null),
                ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Extends the lease on the events still claimed under <paramref name="owner"/> (not settled) to
    /// <paramref name="lease"/> from now (the database's clock on PostgreSQL). Returns how many it extended.
    /// </summary>
    public static async Task<int> RenewAsync(DbContext db, string owner, TimeSpan lease, long localNowUs, CancellationToken ct)
    {
        if (StoreProvider.IsPostgres(db))
        {
            return await db.Database.ExecuteSqlRawAsync(
                InSchemaOf(db, $"""
                    UPDATE kavach_polar_usage_events SET locked_until_us = {DbNowUs} + @lease
                    WHERE lock_owner = @owner AND accepted_at_us IS NULL AND quarantined_at IS NULL
                    """),
                [new NpgsqlParameter<string>("owner", owner), new NpgsqlParameter<long>("lease", (long)lease.TotalMicroseconds)],
                ct).ConfigureAwait(false);
        }

        var until = localNowUs + (long)lease.TotalMicroseconds;
        return await db.Set<UsageEventRecord>().Where(e => e.LockOwner == owner && e.AcceptedAtUs == null && e.QuarantinedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(e => e.LockedUntilUs, until), ct).ConfigureAwait(false);
    }

    /// <summary>Hands back every event leased under <paramref name="owner"/> without counting an attempt (a stop, a lost claim).</summary>
    public static Task<int> ReleaseAsync(DbContext db, string owner, CancellationToken ct) =>
        db.Set<UsageEventRecord>().Where(e => e.LockOwner == owner && e.AcceptedAtUs == null)
            .ExecuteUpdateAsync(u => u.SetProperty(e => e.LockedUntilUs, (long?)null).SetProperty(e => e.LockOwner, (string?)null), ct);

    /// <summary>Deletes events Polar accepted before <paramref name="beforeUs"/>: its meters count them by then.</summary>
    public static Task<int> PurgeAcceptedAsync(DbContext db, long beforeUs, CancellationToken ct) =>
        db.Set<UsageEventRecord>().Where(e => e.AcceptedAtUs != null && e.AcceptedAtUs < beforeUs).ExecuteDeleteAsync(ct);

    /// <summary>
    /// How long until the earliest unsent event is due (zero: now), or <see langword="null"/> when none is waiting,
    /// asked on a raw pooled connection cloned from the DbContext's, so that an idle sender's look at the queue writes no
    /// EF Core log line; <see cref="TimeSpan.Zero"/> when it cannot be asked that way (another provider, or EF Core
    /// interceptors, which must see every command): the caller claims instead.
    /// </summary>
    public static async Task<TimeSpan?> UntilNextDueQuietlyAsync(DbContext db, CancellationToken ct)
    {
        if (!StoreProvider.IsPostgres(db) || DirectPostgres.HasInterceptors(db))
        {
            return TimeSpan.Zero;
        }

        await using var connection = (NpgsqlConnection)((ICloneable)db.Database.GetDbConnection()).Clone();
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(InSchemaOf(db, NextDueSql), connection);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long us
            ? TimeSpan.FromMicroseconds(Math.Max(0, us))
            : null;
    }

    private const string NextDueSql = $"""
        SELECT min(GREATEST(u.next_attempt_at_us, COALESCE(u.locked_until_us, 0))) - {DbNowUs}
        FROM kavach_polar_usage_events u WHERE u.accepted_at_us IS NULL AND u.quarantined_at IS NULL
        """;

    /// <summary>
    /// <paramref name="sql"/> with the table where the host's model puts it; the statements name
    /// <c>kavach_polar_usage_events</c> as it stands by default.
    /// </summary>
    internal static string InSchemaOf(DbContext db, string sql) =>
        StoreProvider.Table(db, typeof(UsageEventRecord), Table) is { } table && table != Table
            ? sql.Replace(Table, table, StringComparison.Ordinal)
            : sql;
}
