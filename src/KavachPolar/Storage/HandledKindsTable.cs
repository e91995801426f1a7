using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// <c>kavach_polar_handled_kinds</c>: which kinds of change some host of the app handles, each with when it last said
/// so. On PostgreSQL both statements use the database's clock (never an instance's); other providers use EF Core and the
/// caller's clock. A database not migrated since the table came answers "no table" instead of failing.
/// </summary>
internal static class HandledKindsTable
{
    private const string Table = "kavach_polar_handled_kinds";

    private const string DbNowUs = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

    /// <summary>Declares <c>@kinds</c> now by the database's clock; never moves a declaration back.</summary>
    private const string DeclareSql = $"""
        INSERT INTO {Table} AS k (kind, declared_at_us) SELECT unnest(@kinds), {DbNowUs}
        ON CONFLICT (kind) DO UPDATE SET declared_at_us = GREATEST(k.declared_at_us, EXCLUDED.declared_at_us)
        """;

    /// <summary>The kinds declared less than <c>@lifetime</c> microseconds ago by the database's clock.</summary>
    private const string ReadSql = $"SELECT kind AS \"Value\" FROM {Table} WHERE declared_at_us > {DbNowUs} - @lifetime";

    /// <summary>Declares <paramref name="kinds"/> handled as of now. Returns whether the table exists.</summary>
    public static async Task<bool> DeclareAsync(DbContext db, IReadOnlyCollection<string> kinds, long nowUs, CancellationToken t)
    {
        try
        {
            if (StoreProvider.Table(db, typeof(HandledKindRecord), Table) is not { } table)
            {
                return false;
            }

            if (StoreProvider.IsPostgres(db))
            {
                // Through EF Core, so that the host's interceptors see it.
                await db.Database.ExecuteSqlRawAsync(
                    InTable(table, DeclareSql),
                    [new NpgsqlParameter<string[]>("kinds", [.. kinds])],
                    t).ConfigureAwait(false);
                return true;
            }

            foreach (var kind in kinds)
            {
                var updated = await db.Set<HandledKindRecord>().Where(k => k.Kind == kind)
                    .ExecuteUpdateAsync(u => u.SetProperty(k => k.DeclaredAtUs, k => k.DeclaredAtUs > nowUs ? k.DeclaredAtUs : nowUs), t).ConfigureAwait(false);
                if (updated == 0)
                {
                    db.Add(new HandledKindRecord { Kind = kind, DeclaredAtUs = nowUs });
                    try
                    {
                        await db.SaveChangesAsync(t).ConfigureAwait(false);
                    }
                    catch (DbUpdateException e) when (StoreTransactions.IsUniqueViolation(e))
                    {
                        // Another host declared it at the same moment: declared.
                        db.ChangeTracker.Clear();
                    }
                }
            }

            return true;
        }
        catch (Exception e) when (IsMissingTable(e))
        {
            return false;
        }
    }

    /// <summary>The kinds declared less than <paramref name="lifetime"/> ago, or <see langword="null"/> when the table is missing.</summary>
    public static async Task<List<string>?> ReadAsync(DbContext db, TimeSpan lifetime, long nowUs, CancellationToken t)
    {
        try
        {
            if (StoreProvider.Table(db, typeof(HandledKindRecord), Table) is not { } table)
            {
                return null;
            }

            var lifetimeUs = (long)lifetime.TotalMicroseconds;
            if (StoreProvider.IsPostgres(db))
            {
                return await db.Database.SqlQueryRaw<string>(
                        InTable(table, ReadSql),
                        new NpgsqlParameter<long>("lifetime", lifetimeUs))
                    .ToListAsync(t).ConfigureAwait(false);
            }

            var since = nowUs - lifetimeUs;
            return await db.Set<HandledKindRecord>().AsNoTracking().Where(k => k.DeclaredAtUs > since).Select(k => k.Kind)
                .ToListAsync(t).ConfigureAwait(false);
        }
        catch (Exception e) when (IsMissingTable(e))
        {
            return null;
        }
    }

    /// <summary>The SQL with the table where the host's model puts it (another schema, say).</summary>
    private static string InTable(string table, string sql) => table == Table ? sql : sql.Replace(Table, table, StringComparison.Ordinal);

    /// <summary>PostgreSQL's undefined_table, SQLite's "no such table": a database not migrated since the table came.</summary>
    internal static bool IsMissingTable(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable }
                || (x.GetType().Name == "SqliteException" && x.Message.Contains("no such table", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
