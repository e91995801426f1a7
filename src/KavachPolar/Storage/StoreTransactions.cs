using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary>
/// Runs a unit of work in one transaction, through the context's execution strategy (so a host that
/// configured retries on failure keeps them), with the locks that serialize work per Polar customer
/// and per user across app instances.
/// </summary>
internal static class StoreTransactions
{
    /// <summary>
    /// Per SQLite database (its connection string), the queue of this process's write transactions: kept for the process's
    /// life, one small entry per database (a process serves one; every <c>:memory:</c> database shares one queue, which is
    /// only slower).
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> Writers = new(StringComparer.Ordinal);

    public static Task<T> RunAsync<T>(DbContext db, Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        var strategy = db.Database.CreateExecutionStrategy();
        return strategy.ExecuteAsync(
            (db, work),
            async (_, state, token) =>
            {
                state.db.ChangeTracker.Clear();
                // PostgreSQL serializes through advisory locks (LockAsync). Every other provider gets
                // SERIALIZABLE, which for SQLite means BEGIN IMMEDIATE: one writer at a time.
                var isolation = StoreProvider.IsPostgres(state.db) ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable;
                var writers = SqliteWriters(state.db);
                if (writers is not null)
                {
                    await writers.WaitAsync(token).ConfigureAwait(false);
                }

                try
                {
                    await using var tx = await state.db.Database.BeginTransactionAsync(isolation, token).ConfigureAwait(false);
                    var result = await state.work(token).ConfigureAwait(false);
                    await tx.CommitAsync(token).ConfigureAwait(false);
                    return result;
                }
                finally
                {
                    writers?.Release();
                }
            },
            verifySucceeded: null,
            ct);
    }

    /// <summary>
    /// On SQLite, the queue this process's write transactions on that database wait in, one at a time, before
    /// <c>BEGIN IMMEDIATE</c>. SQLite lets one writer in; Microsoft.Data.Sqlite answers a busy database by retrying
    /// until the command's timeout, holding the thread, in no order: under a burst of deliveries a few waited seconds
    /// (past <see cref="KavachPolarOptions.WebhookProcessingTimeout"/>: 503) while later ones went through. Waiting here
    /// is asynchronous, roughly first come first served, and bounded by the caller's budget. Other processes on the same
    /// file still meet SQLite's own lock. <see langword="null"/> for other providers.
    /// </summary>
    private static SemaphoreSlim? SqliteWriters(DbContext db) =>
        StoreProvider.IsSqlite(db)
            ? Writers.GetOrAdd(db.Database.GetConnectionString() ?? "", static _ => new SemaphoreSlim(1, 1))
            : null;

    /// <summary>
    /// Takes a transaction-scoped lock on <paramref name="key"/>. Callers take at most one customer
    /// lock and then user locks in ordinal order, which rules out deadlocks between them.
    /// </summary>
    public static async Task LockAsync(DbContext db, string key, CancellationToken ct)
    {
        if (StoreProvider.IsPostgres(db))
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))", ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// True when <paramref name="e"/> is a unique-key violation, from EF Core's <c>SaveChanges</c> or from a command
    /// run on a raw connection (<see cref="WebhookFunction"/>).
    /// </summary>
    public static bool IsUniqueViolation(Exception e) =>
        e is DbUpdateException u && IsUniqueViolation(u) || e is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation };

    /// <summary>True when <paramref name="e"/> is a unique-key violation, whatever the provider.</summary>
    public static bool IsUniqueViolation(DbUpdateException e) =>
        e.InnerException is DbException { SqlState: "23505" }
        || (e.InnerException is DbException db && db.GetType().Name == "SqliteException" && db.ErrorCode == 19);
}
