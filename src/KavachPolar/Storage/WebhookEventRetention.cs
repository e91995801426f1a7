using System.Globalization;
using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Storage;

/// <summary>
/// Deletes processed-webhook rows older than <see cref="Retention"/>, once an hour, in the database and in batches of
/// <see cref="BatchSize"/>. Polar can redeliver
/// an event for 90 days, so rows are kept longer than that. Rows kept as
/// <c>unprocessable</c> are left for an operator to look at.
/// </summary>
internal sealed class WebhookEventRetention(IServiceScopeFactory scopes, TimeProvider time, ILogger<WebhookEventRetention> logger) : BackgroundService
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            try
            {
                await PurgeAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.RetentionFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Rows deleted per statement, so that no statement holds the table (SQLite: the database) for long.</summary>
    internal const int BatchSize = 1000;

    /// <summary>Deletes expired rows now, in the database, a batch per statement. Returns how many.</summary>
    internal async Task<int> PurgeAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        var db = store.Db;
        var cutoff = time.GetUtcNow() - Retention;
        var total = 0;
        int deleted;
        do
        {
            deleted = StoreProvider.IsSqlite(db)
                ? await DeleteSqliteBatchAsync(db, cutoff, ct).ConfigureAwait(false)
                : await db.Set<WebhookEventRecord>()
                    .Where(e => e.ReceivedAt < cutoff && e.Outcome != WebhookOutcomes.Unprocessable)
                    .OrderBy(e => e.ReceivedAt)
                    .Take(BatchSize)
                    .ExecuteDeleteAsync(ct).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted == BatchSize);

        return total;
    }

    /// <summary>
    /// EF Core's SQLite provider cannot compare a DateTimeOffset in SQL, so the statement is written here. It stores
    /// them as text (<c>yyyy-MM-dd HH:mm:ss.FFFFFFF+00:00</c>), and received times are always UTC: as text they sort
    /// as they do in time (a missing fraction sorts first, '+' before any digit), so the index on received_at serves.
    /// </summary>
    private static Task<int> DeleteSqliteBatchAsync(DbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        var entity = db.Model.FindEntityType(typeof(WebhookEventRecord))!;
        var table = Quote(entity.GetTableName()!);
        var id = Quote(entity.FindProperty(nameof(WebhookEventRecord.Id))!.GetColumnName());
        var receivedAt = Quote(entity.FindProperty(nameof(WebhookEventRecord.ReceivedAt))!.GetColumnName());
        var outcome = Quote(entity.FindProperty(nameof(WebhookEventRecord.Outcome))!.GetColumnName());
        var before = cutoff.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);
#pragma warning disable EF1002 // Identifiers come from the model; every value is a parameter.
        return db.Database.ExecuteSqlRawAsync(
            $"DELETE FROM {table} WHERE {id} IN (SELECT {id} FROM {table} WHERE {receivedAt} < {{0}} AND {outcome} <> {{1}} ORDER BY {receivedAt} LIMIT {{2}})",
            [before, WebhookOutcomes.Unprocessable, BatchSize],
            ct);
#pragma warning restore EF1002
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
