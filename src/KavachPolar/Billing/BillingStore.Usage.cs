using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Billing;

/// <summary>The billing store's usage writes: the outbox of usage events waiting for Polar's ingest.</summary>
internal sealed partial class BillingStore
{
    /// <summary>
    /// Writes one usage event (already validated), once per <c>external_id</c>: a second one with the same key writes
    /// nothing. When <paramref name="host"/> (the DbContext holding KavachPolar's tables in the caller's scope) has a
    /// transaction open, the row joins it: one statement on the host's connection and transaction, leaving the host's
    /// tracked changes alone, and the sender is woken only once that transaction commits. Otherwise the row is
    /// written on a unit of work of its own, durable at return. Returns whether a row was written.
    /// </summary>
    public async Task<bool> RecordUsageAsync(DbContext host, UsageEventRecord row, CancellationToken ct)
    {
        if (host.Database.CurrentTransaction is { } transaction)
        {
            var written = await InsertUsageAsync(host, row, ct).ConfigureAwait(false);
            if (written)
            {
                usageCommits.AfterCommitOf(transaction.TransactionId);
            }

            return written;
        }

        var inserted = await store.RunAsync((s, t) => InsertUsageAsync(s.Db, row, t), ct).ConfigureAwait(false);
        if (inserted)
        {
            usageSignal.Notify();
        }

        return inserted;
    }

    /// <summary>One statement that inserts the row unless its <c>external_id</c> is taken (so it never aborts a host's transaction).</summary>
    private static async Task<bool> InsertUsageAsync(DbContext db, UsageEventRecord row, CancellationToken ct)
    {
        if (StoreProvider.IsPostgres(db) || StoreProvider.IsSqlite(db))
        {
            var table = StoreProvider.Table(db, typeof(UsageEventRecord), "kavach_polar_usage_events")
                        ?? throw new InvalidOperationException("The DbContext's model lacks KavachPolar's usage table: call modelBuilder.ApplyKavachPolarModel() and add a migration.");
#pragma warning disable EF1002, EF1003 // The table name comes from the model; every value is a parameter.
            var rows = await db.Database.ExecuteSqlRawAsync(
                $"INSERT INTO {table} (user_id, name, external_id, metadata, timestamp_us, recorded_at, attempts, next_attempt_at_us) " +
                "VALUES ({0}, {1}, {2}, {3}, {4}, {5}, 0, 0) ON CONFLICT (external_id) DO NOTHING",
                [row.UserId, row.Name, row.ExternalId, row.Metadata, row.TimestampUs, row.RecordedAt.ToUniversalTime()],
                ct).ConfigureAwait(false);
#pragma warning restore EF1002, EF1003
            return rows > 0;
        }

        // Other providers: look first (a concurrent twin then fails on the unique index, as any constraint would).
        if (await db.Set<UsageEventRecord>().AsNoTracking().AnyAsync(e => e.ExternalId == row.ExternalId, ct).ConfigureAwait(false))
        {
            return false;
        }

        var entry = db.Add(row);
        try
        {
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            entry.State = EntityState.Detached;
        }

        return true;
    }

    /// <summary>Puts every quarantined usage event back in the queue, due now. Returns how many.</summary>
    public async Task<int> ReplayQuarantinedUsageAsync(CancellationToken ct)
    {
        var count = await store.RunAsync(
            (s, t) => s.Db.Set<UsageEventRecord>().Where(e => e.QuarantinedAt != null)
                .ExecuteUpdateAsync(
                    u => u.SetProperty(e => e.QuarantinedAt, (DateTimeOffset?)null).SetProperty(e => e.NextAttemptAtUs, 0L)
                        .SetProperty(e => e.LockedUntilUs, (long?)null).SetProperty(e => e.LockOwner, (string?)null),
                    t),
            ct).ConfigureAwait(false);
        if (count > 0)
        {
            usageSignal.Notify();
        }

        return count;
    }

    /// <summary>One pending usage event of a user, for the meter's pending figures.</summary>
    public readonly record struct PendingUsage(string Name, string Metadata);

    /// <summary>
    /// The user's usage events Polar's figures do not include yet: not accepted (and not quarantined), or accepted after
    /// <paramref name="asOfUs"/> (null: every accepted one still kept).
    /// </summary>
    public Task<List<PendingUsage>> PendingUsageAsync(string userId, long? asOfUs, CancellationToken ct) =>
        store.RunAsync(
            (s, t) => s.Db.Set<UsageEventRecord>().AsNoTracking()
                .Where(e => e.UserId == userId && e.QuarantinedAt == null && (e.AcceptedAtUs == null || asOfUs == null || e.AcceptedAtUs > asOfUs))
                .OrderBy(e => e.Id)
                .Select(e => new PendingUsage(e.Name, e.Metadata))
                .ToListAsync(t),
            ct);
}
