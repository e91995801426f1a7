using System.Net;
using System.Text;
using KavachPolar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Health;

/// <summary>
/// <c>AddHealthChecks().AddKavachPolar()</c>: Unhealthy only when the database does not answer within DatabaseTimeout;
/// a backlog (a change its handler keeps refusing, an unprocessable delivery) is Degraded, with what to do.
/// </summary>
public sealed class HealthCheckTests : DatabaseTest
{
    [Fact]
    public async Task A_host_whose_database_answers_and_nothing_waits_is_healthy()
    {
        await using var app = await StartAsync(Db.ConnectionString);
        await app.DeliverAsync(Compact(Subscription("subscription.created", "b0c5f1de-8a53-4c5e-a3f4-6f1b2a9e0c11", createdAt: T0)), ct: Ct);
        await KavachTestApp.EventuallyAsync(() => app.Changes.Count == 1, because: "the change reached the handler");

        var entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(0, entry.Data["unprocessable_deliveries"]);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("health", Ct)).StatusCode);
    }

    [Fact]
    public async Task A_change_its_handler_keeps_refusing_makes_the_host_degraded_and_says_what_to_do()
    {
        await using var app = await StartAsync(Db.ConnectionString, new() { ["KavachPolar:Health:CallbackBacklogAge"] = "00:00:01" });
        app.FailCallback = _ => true;
        await app.DeliverAsync(Compact(Subscription("subscription.created", "b0c5f1de-8a53-4c5e-a3f4-6f1b2a9e0c12", createdAt: T0)), ct: Ct);

        HealthReportEntry entry = default;
        await Wait.UntilAsync(async () => (entry = await CheckAsync(app)).Status == HealthStatus.Degraded, because: "the stuck change passes its age threshold");

        Assert.Contains("OnSubscriptionChange", entry.Description, StringComparison.Ordinal);
        Assert.Contains("fix the failing handler", entry.Description, StringComparison.Ordinal);
        Assert.True((long)entry.Data["oldest_callback_age_seconds"] >= 1);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("health", Ct)).StatusCode); // Degraded is not a failure

        // Once the handler takes it, nothing waits.
        app.FailCallback = _ => false;
        await Wait.UntilAsync(async () => (await CheckAsync(app)).Status == HealthStatus.Healthy, because: "the callback is retried and taken");
    }

    [Fact]
    public async Task A_signed_delivery_that_cannot_be_processed_makes_the_host_degraded_and_names_the_replay()
    {
        await using var app = await StartAsync(Db.ConnectionString);
        var response = await app.DeliverAsync(Encoding.UTF8.GetBytes("""{"type":"subscription.updated","timestamp":"2026-10-01T09:16:48Z","data":"not a subscription"}"""), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal(1, entry.Data["unprocessable_deliveries"]);
        Assert.Contains("ReplayUnprocessableAsync", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_threshold_above_the_backlog_keeps_the_host_healthy()
    {
        await using var app = await StartAsync(Db.ConnectionString, new() { ["KavachPolar:Health:UnprocessableDeliveries"] = "2" });
        await app.DeliverAsync(Encoding.UTF8.GetBytes("""{"type":"subscription.updated","timestamp":"2026-10-01T09:16:48Z","data":"not a subscription"}"""), ct: Ct);

        var entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(1, entry.Data["unprocessable_deliveries"]);
    }

    [Fact]
    public async Task A_database_that_hangs_makes_the_host_unhealthy_within_the_database_timeout()
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port);
        // The connection string a user writes: no tuned timeouts; KavachPolar's DatabaseTimeout bounds the check.
        var viaProxy = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = proxy.Port, Username = target.Username, Database = target.Database }.ConnectionString;
        await using var app = await StartAsync(viaProxy, new() { ["KavachPolar:DatabaseTimeout"] = "00:00:02" }, createSchema: false);
        proxy.ConnectDelay = TimeSpan.FromMinutes(5);
        NpgsqlConnection.ClearAllPools();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var entry = await CheckAsync(app);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("DatabaseTimeout (2 s)", entry.Description, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the check took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.Client.GetAsync("health", Ct)).StatusCode);
    }

    [Fact]
    public async Task A_registration_that_asks_for_degraded_on_failure_gets_it_when_the_database_is_down()
    {
        await using var app = await KavachTestApp.StartAsync(
            "Host=127.0.0.1;Port=9;Username=postgres;Database=none",
            new()
            {
                CreateSchema = false,
                Settings = new Dictionary<string, string?> { ["KavachPolar:DatabaseTimeout"] = "00:00:02" },
                Services = s => s.AddHealthChecks().AddKavachPolar(failureStatus: HealthStatus.Degraded, tags: ["ready"]),
            });

        var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"), Ct);

        var entry = Assert.Single(report.Entries).Value;
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("connection string", entry.Description, StringComparison.Ordinal);
    }

    private static Task<KavachTestApp> StartAsync(string connectionString, Dictionary<string, string?>? settings = null, bool createSchema = true) =>
        KavachTestApp.StartAsync(
            connectionString,
            new()
            {
                Settings = settings,
                CreateSchema = createSchema,
                Services = s => s.AddHealthChecks().AddKavachPolar(),
                Pipeline = a => a.MapHealthChecks("/health"),
            });

    private static async Task<HealthReportEntry> CheckAsync(KavachTestApp app)
    {
        var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        return report.Entries["kavach_polar"];
    }
}
