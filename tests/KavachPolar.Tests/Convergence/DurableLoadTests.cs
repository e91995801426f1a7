using System.Collections.Concurrent;
using System.Net;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Convergence;

/// <summary>
/// A short load run on the chaos cluster, which scripts/test.sh starts with PostgreSQL's durable defaults (fsync and
/// synchronous_commit on): a cluster that skips the flush once hid a commit lock that made every delivery wait for every
/// other's flush (docs/benchmarks.md). Concurrent signed deliveries, each a real change, reach a host on the
/// one-round-trip path; every one must be applied and its callback run once. Nothing here is timed.
/// </summary>
[Collection(ChaosTests.Name)]
public sealed class DurableLoadTests : ChaosDatabaseTest
{
    private const int Users = 160;
    private const int SnapshotsPerUser = 5;
    private const int Senders = 32;

    [Fact]
    public async Task The_convergence_and_load_runs_see_a_cluster_that_flushes_every_commit()
    {
        var probe = new SqlProbe(Db.ConnectionString);

        Assert.True(
            await probe.ScalarAsync<string>("SELECT current_setting('fsync')", Ct) == "on"
            && await probe.ScalarAsync<string>("SELECT current_setting('synchronous_commit')", Ct) == "on",
            "the chaos cluster (KAVACH_TEST_PG_CHAOS) must run with fsync and synchronous_commit on, as scripts/test.sh starts it: "
            + "a cluster that skips the flush hides faults that only durable commits show");
    }

    [Fact]
    public async Task Concurrent_deliveries_on_a_durable_cluster_are_each_applied_and_each_callback_runs_once()
    {
        var callbacks = new ConcurrentDictionary<string, int>();
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Configure = o => o.OnSubscriptionChange = (change, _) =>
                {
                    callbacks.AddOrUpdate(change.EventId, 1, (_, n) => n + 1);
                    return Task.CompletedTask;
                },
                Services = s => s.AddLogging(l => l.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Npgsql", LogLevel.Warning)),
                FastPath = true,
            });
        var probe = new SqlProbe(Db.ConnectionString);
        Assert.True(await probe.ScalarAsync<bool>("SELECT to_regproc('kavach_polar_apply_subscription') IS NOT NULL", Ct));

        // Sender s sends the users u with u % Senders == s, each user's snapshots in order, so that every delivery is newer
        // than the last one applied to its subscription: each one is a change and queues one callback.
        var sent = new ConcurrentBag<string>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(
            async () =>
            {
                for (var round = 0; round < SnapshotsPerUser; round++)
                {
                    for (var user = sender; user < Users; user += Senders)
                    {
                        var webhookId = Guid.NewGuid().ToString();
                        using var response = await app.DeliverAsync(Snapshot(user, round), webhookId, Ct);
                        statuses.Add(response.StatusCode);
                        sent.Add(webhookId);
                    }
                }
            },
            Ct)));

        var deliveries = Users * SnapshotsPerUser;
        Assert.Equal(deliveries, sent.Count);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Accepted, s));
        Assert.Equal((long)deliveries, await probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE outcome = 'applied'", Ct));
        await Wait.UntilAsync(
            async () => callbacks.Count == deliveries && await probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct) == 0,
            TimeSpan.FromMinutes(1),
            because: "every applied delivery's callback runs",
            describe: async () => $"{callbacks.Count} of {deliveries} callbacks ran, {await probe.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct)} waiting");
        Assert.Equal(sent.Order(StringComparer.Ordinal), callbacks.Keys.Order(StringComparer.Ordinal));
        Assert.All(callbacks, c => Assert.Equal(1, c.Value));
    }

    /// <summary>Snapshot <paramref name="round"/> of the user's one subscription: newer every round, the status flipping.</summary>
    private static byte[] Snapshot(int user, int round)
    {
        var created = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        return Compact(Subscription(
            round == 0 ? "subscription.created" : "subscription.updated",
            $"00000000-0000-4000-8000-{user:D12}",
            status: round % 2 == 0 ? "active" : "past_due",
            externalId: $"load-user-{user}",
            customerId: $"00000000-0000-4000-9000-{user:D12}",
            createdAt: created,
            modifiedAt: round == 0 ? null : created.AddMinutes(round),
            currentPeriodEnd: created.AddDays(31).AddMinutes(round),
            email: $"load.{user}@gmail.com"));
    }
}
