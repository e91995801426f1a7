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
                new()
                {
                    Database = db is null ? o => o.UseSqlite($"Data Source={file}") : null,
                });
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

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Retention_deletes_in_sql_in_bounded_batches_without_reading_the_rows(string provider)
    {
        await using var db = provider == "postgres" ? await PostgresDatabase.CreateAsync(Ct) : null;
        var file = Path.Combine(Path.GetTempPath(), "kavach-" + Guid.NewGuid().ToString("N") + ".db");
        var commands = new CommandRecorder();
        try
        {
            await using var app = await KavachTestApp.StartAsync(
                db?.ConnectionString ?? "",
                new()
                {
                    Database = o =>
                    {
                        if (db is null)
                        {
                            o.UseSqlite($"Data Source={file}");
                        }
                        else
                        {
                            o.UseNpgsql(db.ConnectionString);
                        }

                        o.AddInterceptors(commands);
                    },
                });
            var expired = 2 * WebhookEventRetention.BatchSize + 500;
            var now = DateTimeOffset.UtcNow;
            await app.WithDbAsync(async c =>
            {
                c.AddRange(Enumerable.Range(0, expired).Select(i => new WebhookEventRecord { Id = $"old-{i:D5}", EventType = "subscription.updated", Outcome = "applied", ReceivedAt = now.AddDays(-101).AddSeconds(i) }));
                c.AddRange(
                    new WebhookEventRecord { Id = "old-bad", EventType = "subscription.updated", Outcome = "unprocessable", ReceivedAt = now.AddDays(-200), Payload = "{" },
                    new WebhookEventRecord { Id = "recent", EventType = "subscription.updated", Outcome = "applied", ReceivedAt = now.AddDays(-99) });
                return await c.SaveChangesAsync(Ct);
            });
            var retention = app.Services.GetServices<IHostedService>().OfType<WebhookEventRetention>().Single();

            commands.Clear();
            Assert.Equal(expired, await retention.PurgeAsync(Ct));

            var sent = commands.Texts.Where(t => t.Contains("kavach_polar_webhook_events", StringComparison.Ordinal)).ToList();
            Assert.All(sent, t => Assert.StartsWith("DELETE", t.TrimStart(), StringComparison.OrdinalIgnoreCase));
            Assert.Equal(3, sent.Count); // two full batches and the rest
            var left = await app.WithDbAsync(c => c.Set<WebhookEventRecord>().Select(e => e.Id).OrderBy(i => i).ToListAsync(Ct));
            Assert.Equal(["old-bad", "recent"], left);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    /// <summary>The text of every command the app's DbContexts run, from <see cref="Clear"/> on.</summary>
    private sealed class CommandRecorder : Microsoft.EntityFrameworkCore.Diagnostics.DbCommandInterceptor
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _texts = new();

        public IReadOnlyList<string> Texts => [.. _texts];

        public void Clear() => _texts.Clear();

        public override System.Data.Common.DbCommand CommandInitialized(Microsoft.EntityFrameworkCore.Diagnostics.CommandEndEventData eventData, System.Data.Common.DbCommand result)
        {
            _texts.Enqueue(result.CommandText);
            return result;
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
