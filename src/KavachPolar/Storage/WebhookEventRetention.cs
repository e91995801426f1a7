using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Storage;

/// <summary>
/// Deletes processed-webhook rows older than <see cref="Retention"/>, once an hour. Polar can redeliver
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

    /// <summary>Deletes expired rows now. Returns how many.</summary>
    internal async Task<int> PurgeAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        var db = store.Db;
        var cutoff = time.GetUtcNow() - Retention;
        var set = db.Set<WebhookEventRecord>();
        if (db.Database.ProviderName == StoreProvider.Sqlite)
        {
            // SQLite stores DateTimeOffset as text that EF cannot compare in SQL; the embedded
            // default is small enough to filter in memory.
            var expired = await set.AsNoTracking().Where(e => e.Outcome != WebhookOutcomes.Unprocessable).Select(e => new { e.Id, e.ReceivedAt }).ToListAsync(ct).ConfigureAwait(false);
            var ids = expired.Where(e => e.ReceivedAt < cutoff).Select(e => e.Id).ToList();
            return ids.Count == 0 ? 0 : await set.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(ct).ConfigureAwait(false);
        }

        return await set.Where(e => e.ReceivedAt < cutoff && e.Outcome != WebhookOutcomes.Unprocessable).ExecuteDeleteAsync(ct).ConfigureAwait(false);
    }
}
