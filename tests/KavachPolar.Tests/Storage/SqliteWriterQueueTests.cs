using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Tests.Outages;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// On SQLite a process's write transactions queue for the database one at a time (StoreTransactions) instead of
/// retrying a busy database: a delivery that waits there past its budget answers 503, changes nothing, and Polar's
/// retry applies it once the writer ahead of it is done.
/// </summary>
[Collection(SerialTests.Name)] // timing-sensitive: never beside the parallel tests
public sealed class SqliteWriterQueueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_sqlite_a_delivery_waiting_behind_a_writer_past_its_budget_gets_503_changes_nothing_and_its_retry_applies()
    {
        var file = Path.Combine(Path.GetTempPath(), "kavach-writers-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var app = await KavachTestApp.StartAsync(
                "",
                new()
                {
                    Settings = new Dictionary<string, string?> { ["KavachPolar:WebhookProcessingTimeout"] = "00:00:02" },
                    Database = o => o.UseSqlite($"Data Source={file}"),
                });
            var body = Compact(Example("subscription.created.json"));
            var id = Guid.NewGuid().ToString();

            // Another write transaction of this process (say a plan change being stored) holds the database.
            var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
                var writer = StoreTransactions.RunAsync(
                    db,
                    async t =>
                    {
                        holding.SetResult();
                        await release.Task.WaitAsync(t);
                        return 0;
                    },
                    Ct);
                await holding.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

                var clock = Stopwatch.StartNew();
                var blocked = await app.PostWebhookAsync(body, id, ct: Ct);
                var elapsed = clock.Elapsed;
                await DatabaseDownTests.AssertStoreUnavailableAsync(blocked);
                Assert.True(elapsed < TimeSpan.FromSeconds(9.5), $"503 took {elapsed}, Polar would have timed out");
                release.SetResult();
                await writer;
            }

            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
                Assert.Equal(0, await db.Set<WebhookEventRecord>().CountAsync(Ct));
                Assert.Equal(0, await db.Set<SubscriptionRecord>().CountAsync(Ct));
            }

            var retried = await app.PostWebhookAsync(body, id, ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
            Assert.Equal("applied", (string?)(await retried.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }
}
