using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// Behind a connection pooler in transaction mode (a real PgBouncer, with Npgsql's documented settings), where each
/// transaction may run on another server connection: the hot paths work under concurrency, and the cache, whose
/// LISTEN cannot work through such a pooler, is off with one clear log line, or listens on a direct connection when
/// given one.
/// </summary>
public sealed class PoolerTests : DatabaseTest
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Sixty_concurrent_deliveries_and_sixty_concurrent_uncached_reads_through_the_pooler_all_succeed(bool poolerSettings)
    {
        await CreateSchemaDirectlyAsync();
        await using var app = await KavachTestApp.StartAsync(
            PgBouncer.ConnectionStringTo(Db.Name, poolerSettings),
            new()
            {
                CreateSchema = false,
                Settings = new Dictionary<string, string?>
                {
                    ["KavachPolar:ReadCacheExpiry"] = "00:00:00",
                    ["KavachPolar:WebhookProcessingTimeout"] = "00:00:09",
                    ["KavachPolar:DatabaseTimeout"] = "00:00:30",
                },
            });
        var users = Enumerable.Range(0, 60).Select(i => $"usr_pool_{i}").ToArray();

        var deliveries = await Task.WhenAll(users.Select(async (user, i) =>
        {
            var body = Subscription("subscription.created", $"sub-pool-{i}", externalId: user, customerId: $"cus-pool-{i}", createdAt: T0);
            using var response = await app.PostWebhookAsync(Compact(body), ct: Ct);
            return response.StatusCode;
        }));
        Assert.True(deliveries.All(s => s == HttpStatusCode.Accepted), Summary(deliveries));
        Assert.True(app.Services.GetRequiredService<DirectPostgres>().Current() is { HasFunction: true, Prototype: not null }, "the deliveries took the one-statement path on a raw connection");

        var reads = await Task.WhenAll(users.Select(async user =>
        {
            using var client = app.ClientFor(user);
            using var response = await client.GetAsync("api/kavach/auth/polar/subscription", Ct);
            return response.IsSuccessStatusCode
                ? (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["status"] ?? "none"
                : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }));
        Assert.True(reads.All(s => s == "active"), string.Join(", ", reads.GroupBy(s => s).Select(g => $"{g.Count()} x {g.Key}")));

        // With Npgsql's pooler settings nothing is prepared; without them, the first failure of a prepared command
        // (it did not run) makes it run again unprepared, as every later command on this data source, with one warning.
        Assert.False(app.Services.GetRequiredService<DirectPostgres>().Current()!.Prepare);
        Assert.Equal(poolerSettings ? 0 : 1, app.Logs.Lines.Count(l => l.Contains("[4009]", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_a_direct_connection_the_cache_is_off_behind_the_pooler_with_one_log_line()
    {
        await CreateSchemaDirectlyAsync();
        await using var app = await KavachTestApp.StartAsync(
            PgBouncer.ConnectionStringTo(Db.Name),
            new()
            {
                CreateSchema = false,
                // The default probe timeout (5 s): with 1 s, a loaded machine made the probe's own round trips time out,
                // which is a failure to retry (3003), not the deafness this test is about.
                Services = s => s.AddSingleton(new CacheListener.Timing(ProbeInterval: TimeSpan.FromSeconds(1), ProbeTimeout: TimeSpan.FromSeconds(5))),
            });
        var listener = app.Services.GetServices<IHostedService>().OfType<CacheListener>().Single();

        await Wait.UntilAsync(() => Task.FromResult(listener.ExecuteTask is { IsCompleted: true }), because: "the listener gives up once it finds it cannot hear announcements");

        Assert.False(app.Services.GetRequiredService<SubscriptionCache>().Serving);
        var listenerLines = app.Logs.Lines.Where(l => l.Contains("[3005]", StringComparison.Ordinal) || l.Contains("[3003]", StringComparison.Ordinal)).ToList();
        var said = string.Join(Environment.NewLine, listenerLines);
        Assert.True(listenerLines.Count == 1 && listenerLines[0].Contains("[3005]", StringComparison.Ordinal), "the listener's lines: " + said);
        Assert.Contains("NotificationConnectionString", listenerLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_direct_connection_for_notifications_an_instance_behind_the_pooler_caches_and_hears_other_instances_changes()
    {
        var direct = new Dictionary<string, string?> { ["KavachPolar:NotificationConnectionString"] = Db.ConnectionString };
        await CreateSchemaDirectlyAsync();
        await using var a = await KavachTestApp.StartAsync(PgBouncer.ConnectionStringTo(Db.Name), new() { Settings = direct, CreateSchema = false });
        await using var b = await KavachTestApp.StartAsync(PgBouncer.ConnectionStringTo(Db.Name), new() { Settings = direct, CreateSchema = false });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e40";
        Assert.Equal(HttpStatusCode.Accepted, (await a.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct)).StatusCode);
        var cache = b.Services.GetRequiredService<SubscriptionCache>();
        await Wait.UntilAsync(() => Task.FromResult(cache.Serving), because: "B's listener hears its probe on the direct connection");
        await Wait.UntilAsync(
            async () =>
            {
                await SubscriptionAsync(onB);
                return cache.TryGet("usr_1337", out _);
            },
            because: "B keeps the user in its cache");

        await a.PostWebhookAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            TimeSpan.FromSeconds(1),
            "instance B shows the change within 1 s (its cache would keep the old state for 30 s)",
            interval: TimeSpan.FromMilliseconds(20));
        Assert.DoesNotContain(b.Logs.Lines, l => l.Contains("[3005]", StringComparison.Ordinal) || l.Contains("[3003]", StringComparison.Ordinal));
    }

    private static string Summary(IEnumerable<HttpStatusCode> codes) =>
        string.Join(", ", codes.GroupBy(c => (int)c).Select(g => $"{g.Count()} x {g.Key}"));

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];

    /// <summary>
    /// Creates the tables and the webhook function on a direct connection, as a deployment runs its migrations (Npgsql
    /// advises against schema work through a pooler in transaction mode; under load it failed there with 08P01).
    /// </summary>
    private async Task CreateSchemaDirectlyAsync()
    {
        await using var direct = await KavachTestApp.StartAsync(Db.ConnectionString);
    }
}
