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
    private const string Npgsql = "Npgsql.EntityFrameworkCore.PostgreSQL";

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
                var isolation = state.db.Database.ProviderName == Npgsql ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable;
                await using var tx = await state.db.Database.BeginTransactionAsync(isolation, token).ConfigureAwait(false);
                var result = await state.work(token).ConfigureAwait(false);
                await tx.CommitAsync(token).ConfigureAwait(false);
                return result;
            },
            verifySucceeded: null,
            ct);
    }

    /// <summary>
    /// Opens the connection, giving up at <paramref name="ct"/>. Npgsql honours only the connection
    /// string's Timeout, not the token, while it opens a connection to a server that accepts and then
    /// hangs; without this the endpoint would answer 503 after Polar's 10 s. Once open, commands
    /// honour the token (the server cancels them), so only the open is abandoned.
    /// </summary>
    public static async Task OpenAsync(DbContext db, CancellationToken ct)
    {
        var open = db.Database.OpenConnectionAsync(ct);
        if (!open.IsCompleted)
        {
            _ = open.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await open.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a transaction-scoped lock on <paramref name="key"/>. Callers take at most one customer
    /// lock and then user locks in ordinal order, which rules out deadlocks between them.
    /// </summary>
    public static async Task LockAsync(DbContext db, string key, CancellationToken ct)
    {
        if (db.Database.ProviderName == Npgsql)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))", ct).ConfigureAwait(false);
        }
    }

    /// <summary>True when <paramref name="e"/> is a unique-key violation, whatever the provider.</summary>
    public static bool IsUniqueViolation(DbUpdateException e) =>
        e.InnerException is DbException { SqlState: "23505" }
        || (e.InnerException is DbException db && db.GetType().Name == "SqliteException" && db.ErrorCode == 19);
}
