using System.Diagnostics.Metrics;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

public sealed class MaintenanceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Providers() => ["postgres", "sqlite"];

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Processed_webhooks_are_kept_100_days_and_unprocessable_ones_until_an_operator_acts(string provider)
    {
        await using var db = provider == "postgres" ? await PostgresDatabase.CreateAsync(Ct) : null;
        var file = Path.Combine(Path.GetTempPath(), "kavach-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var app = await KavachTestApp.StartAsync(
                db?.ConnectionString ?? "",
                database: db is null ? o => o.UseSqlite($"Data Source={file}") : null);
            var now = DateTimeOffset.UtcNow;
            await app.WithDbAsync(async c =>
            {
                c.AddRange(
                    new WebhookEventRecord { Id = "old", EventType = "subscription.updated", Outcome = "applied", ReceivedAt = now.AddDays(-101) },
                    new WebhookEventRecord { Id = "old-bad", EventType = "subscription.updated", Outcome = "unprocessable", ReceivedAt = now.AddDays(-200), Payload = "{" },
                    new WebhookEventRecord { Id = "recent", EventType = "subscription.updated", Outcome = "applied", ReceivedAt = now.AddDays(-89) });
                return await c.SaveChangesAsync(Ct);
            });

            var retention = app.Services.GetServices<IHostedService>().OfType<WebhookEventRetention>().Single();
            // The hosted service also purges once at start-up, and may get to "old" first: what counts is the end state.
            Assert.InRange(await retention.PurgeAsync(Ct), 0, 1);
            var left = await app.WithDbAsync(c => c.Set<WebhookEventRecord>().Select(e => e.Id).OrderBy(i => i).ToListAsync(Ct));
            Assert.Equal(["old-bad", "recent"], left);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Webhook_outcomes_are_counted_on_the_KavachPolar_meter()
    {
        await using var db = await PostgresDatabase.CreateAsync(Ct);
        await using var app = await KavachTestApp.StartAsync(db.ConnectionString);
        using var counted = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "KavachPolar", "kavach_polar.webhooks");

        var body = Compact(Example("subscription.created.json"));
        await app.PostWebhookAsync(body, "c0000000-0000-4000-8000-000000000001", ct: Ct);
        await app.PostWebhookAsync(body, "c0000000-0000-4000-8000-000000000001", ct: Ct);
        await app.Client.PostAsync(app.WebhookUrl, new ByteArrayContent(body), Ct);

        // Scoped to this host's meter factory: deliveries to other tests' hosts in this process do not count here.
        Assert.Equal(["applied", "duplicate", "refused"], counted.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]));
    }
}
