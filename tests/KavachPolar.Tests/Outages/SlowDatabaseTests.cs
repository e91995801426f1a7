using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// A database that answers, but too slowly (a table lock held elsewhere), and several app instances
/// competing for the same pending callbacks. Runs on the normal server: nothing here stops it.
/// </summary>
[Collection(SerialTests.Name)] // timing-sensitive: never beside the parallel tests
public sealed class SlowDatabaseTests : DatabaseTest
{
    private static readonly TimeSpan PolarTimeoutBound = TimeSpan.FromSeconds(9.5);
    [Theory]
    [InlineData("kavach_polar_webhook_events")]
    [InlineData("kavach_polar_subscriptions")]
    [InlineData("kavach_users")]
    public async Task A_webhook_blocked_by_a_table_lock_gets_503_within_the_processing_timeout_and_a_retry_applies_it_once(string table)
    {
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:WebhookProcessingTimeout"] = "00:00:02" },
            });
        var body = Compact(Example("subscription.created.json"));
        var id = Guid.NewGuid().ToString();

        await using (var locker = new NpgsqlConnection(Probe.ConnectionString))
        {
            await locker.OpenAsync(Ct);
            await using var tx = await locker.BeginTransactionAsync(Ct);
            await using (var cmd = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", locker, tx))
            {
                await cmd.ExecuteNonQueryAsync(Ct);
            }

            var clock = Stopwatch.StartNew();
            var blocked = await app.PostWebhookAsync(body, id, ct: Ct);
            var elapsed = clock.Elapsed;
            await DatabaseDownTests.AssertStoreUnavailableAsync(blocked);
            Assert.True(elapsed < PolarTimeoutBound, $"503 took {elapsed}, Polar would have timed out");
            await tx.RollbackAsync(Ct);
        }

        // The budget stops the wait, not always the work: the attempt answered 503 either rolled back (its cancel
        // request won) or commits whole once the lock is gone, never in part. Polar's retry is then applied, or a
        // duplicate of what the abandoned attempt committed. (Changed with StoreBudget: this used to assert that
        // nothing ever committed, which only held when the cancel request beat the lock's release.)
        Assert.True(await Probe.ScalarAsync<bool>(
            "SELECT (SELECT count(*) FROM kavach_polar_webhook_events) = (SELECT count(*) FROM kavach_polar_subscriptions)", Ct), "a partial commit");
        Assert.Contains(await OutcomeAsync(await app.PostWebhookAsync(body, id, ct: Ct)), new[] { "applied", "duplicate" });
        Assert.Equal("duplicate", await OutcomeAsync(await app.PostWebhookAsync(body, id, ct: Ct)));

        await KavachTestApp.EventuallyAsync(() => !app.Changes.IsEmpty);
        await Wait.UntilAsync(async () => await Probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct) == 0);
        Assert.Equal(id, Assert.Single(app.Changes).EventId);
        Assert.Equal(1L, await Probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events", Ct));
        Assert.Equal(1L, await Probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
    }

    [Fact]
    public async Task Pending_callbacks_are_claimed_by_one_instance_at_a_time_and_every_change_runs_in_order()
    {
        var inFlight = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var maxInFlight = 0;
        var attempts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var completed = new ConcurrentQueue<(string Instance, KavachSubscriptionChange Change)>();

        Action<KavachPolarOptions> Callback(string instance) => o => o.OnSubscriptionChange = async (change, ct) =>
        {
            var now = inFlight.AddOrUpdate(change.EventId, 1, (_, n) => n + 1);
            InterlockedMax(ref maxInFlight, now);
            try
            {
                await Task.Delay(150, ct); // a callback that takes a while: the behaviour under test
                if (attempts.AddOrUpdate(change.EventId, 1, (_, n) => n + 1) == 1 && change.EventType == "subscription.canceled")
                {
                    throw new InvalidOperationException("first attempt fails on purpose");
                }

                completed.Enqueue((instance, change));
            }
            finally
            {
                inFlight.AddOrUpdate(change.EventId, 0, (_, n) => n - 1);
            }
        };

        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = Callback("a") });
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = Callback("b"), CreateSchema = false });
        var apps = new[] { a, b };

        var expected = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var users = Enumerable.Range(0, 8).Select(i => (User: $"claim-{i}", Subscription: Guid.NewGuid().ToString(), Customer: Guid.NewGuid().ToString())).ToList();
        var steps = new (string Type, bool Cancel)[] { ("subscription.created", false), ("subscription.canceled", true), ("subscription.uncanceled", false) };
        for (var step = 0; step < steps.Length; step++)
        {
            for (var u = 0; u < users.Count; u++)
            {
                var (user, subscription, customer) = users[u];
                var id = Guid.NewGuid().ToString();
                var payload = Subscription(steps[step].Type, subscription, externalId: user, customerId: customer, createdAt: T0,
                    modifiedAt: step == 0 ? null : T0.AddDays(step), cancelAtPeriodEnd: steps[step].Cancel);
                Assert.Equal("applied", await OutcomeAsync(await apps[(u + step) % 2].PostWebhookAsync(Compact(payload), id, ct: Ct)));
                (expected.TryGetValue(user, out var list) ? list : expected[user] = []).Add(id);
            }
        }

        await Wait.UntilAsync(
            async () => await Probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct) == 0,
            TimeSpan.FromSeconds(60),
            "every pending callback completes");

        Assert.Equal(1, maxInFlight);
        foreach (var (user, ids) in expected)
        {
            var ran = completed.Where(c => c.Change.UserId == user).Select(c => c.Change.EventId).Distinct().ToList();
            Assert.Equal(ids, ran);
        }

        Assert.Contains(completed, c => c.Instance == "a");
        Assert.Contains(completed, c => c.Instance == "b");
        Assert.Contains(attempts.Values, n => n > 1);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static async Task<string> OutcomeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]!;
    }
}
