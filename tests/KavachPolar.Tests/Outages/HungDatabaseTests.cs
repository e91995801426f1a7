using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// Every PostgreSQL process is stopped (SIGSTOP) under an app with a warm connection pool: sockets stay open and
/// nothing answers, not even the driver's cancel request. The host is configured as the README says, with a plain
/// connection string (the driver's default 30 s command timeout), so only KavachPolar's own budgets can answer in
/// time. When PostgreSQL resumes, Polar's retries apply every event once.
/// </summary>
[Collection(ChaosTests.Name)]
public sealed class HungDatabaseTests : ChaosDatabaseTest
{
    /// <summary>Polar gives up on a delivery after 10 s.</summary>
    private static readonly TimeSpan PolarTimeout = TimeSpan.FromSeconds(10);

    protected override async ValueTask DisposeAsyncCore()
    {
        await Chaos.ThawAsync(CancellationToken.None);
        await base.DisposeAsyncCore();
    }

    [Fact]
    public async Task With_postgresql_stopped_mid_connection_webhooks_and_user_routes_get_503_in_time_and_retries_apply_each_event_once()
    {
        var server = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        var asUsersWriteIt = $"Host={server.Host};Port={server.Port};Username={server.Username};Database={server.Database}";
        await using var polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
        await using var app = await KavachTestApp.StartAsync(asUsersWriteIt, polar);
        using var client = app.ClientFor("usr_1337", "jane.doe@gmail.com");

        // Warm the pool: a delivery and a read go through.
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e11";
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/kavach/auth/polar/subscription", Ct)).StatusCode);

        var deliveries = new[]
        {
            (Id: Guid.NewGuid().ToString(), Body: Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true))),
            (Id: Guid.NewGuid().ToString(), Body: Compact(Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e12", createdAt: T0.AddDays(2), externalId: "usr_2", customerId: "0b7f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a51"))),
            (Id: Guid.NewGuid().ToString(), Body: Compact(Subscription("subscription.revoked", subscriptionId, status: "canceled", createdAt: T0, modifiedAt: T0.AddDays(3)))),
        };

        await Chaos.FreezeAsync(Ct);
        try
        {
            foreach (var (id, body) in deliveries)
            {
                var clock = Stopwatch.StartNew();
                var response = await app.PostWebhookAsync(body, id, ct: Ct);
                var elapsed = clock.Elapsed;
                await DatabaseDownTests.AssertStoreUnavailableAsync(response);
                Assert.True(elapsed < PolarTimeout, $"webhook 503 took {elapsed}: Polar would have given up");
            }

            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[0].Id }, Ct),
                () => client.GetAsync("api/kavach/auth/polar/subscription", Ct),
                () => client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct),
            })
            {
                var clock = Stopwatch.StartNew();
                var response = await request();
                var elapsed = clock.Elapsed;
                await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "store_unavailable");
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.True(elapsed < PolarTimeout, $"{response.RequestMessage!.RequestUri} took {elapsed}");
            }
        }
        finally
        {
            await Chaos.ThawAsync(Ct);
        }

        // Polar retries each delivery with the same webhook-id: each is applied once (or was, by the abandoned work).
        foreach (var (id, body) in deliveries)
        {
            HttpResponseMessage? response = null;
            await Wait.UntilAsync(async () =>
            {
                response = await app.PostWebhookAsync(body, id, ct: Ct);
                return response.StatusCode == HttpStatusCode.Accepted;
            });
        }

        Assert.Equal(4L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events", Ct));
        Assert.Equal("canceled", await Db.ScalarAsync<string>($"SELECT status FROM kavach_polar_subscriptions WHERE id = '{subscriptionId}'", Ct));
        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
        Assert.Null((await client.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        // Appeared, set to cancel, revoked; or appeared, revoked: the work abandoned while the database hung resumes when
        // it comes back, on several connections in no set order, and when the revoke commits first the version guard
        // rightly makes the older "set to cancel" stale (no change to tell).
        var changes = app.Changes.Where(c => c.UserId == "usr_1337").ToList();
        var story = string.Join("; ", changes.Select(c => $"{c.EventType} {c.Previous?.Status}/{c.Previous?.CancelAtPeriodEnd}->{c.Current?.Status}/{c.Current?.CancelAtPeriodEnd}"));
        Assert.True(changes.Count is 2 or 3, story);
        Assert.True(changes[0].Previous is null && changes[0].Current?.Status == "active", story);
        Assert.True(changes[^1].Current is null || !changes[^1].Current!.IsEntitled, story);
        if (changes.Count == 3)
        {
            Assert.True(changes[1].Current is { CancelAtPeriodEnd: true }, story);
        }

        Assert.Equal(1, app.Changes.Count(c => c.UserId == "usr_2"));
    }
}
