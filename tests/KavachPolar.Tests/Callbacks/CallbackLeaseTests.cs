using System.Collections.Concurrent;
using System.Net;
using KavachPolar.Callbacks;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// Two app instances on one database, one with its clock 30 s ahead, and a callback that ignores its cancellation
/// token and runs well past the lease and the callback timeout: one row's callback never runs twice at once, and it
/// still runs again (at least once) after the slow run ends.
/// </summary>
[Collection(SerialTests.Name)] // timing-sensitive: never beside the parallel tests
public sealed class CallbackLeaseTests : DatabaseTest
{
    [Fact]
    public async Task A_callback_that_outlives_its_lease_is_never_run_twice_at_once_even_by_an_instance_whose_clock_is_ahead()
    {
        var running = new ConcurrentDictionary<string, int>();
        var runs = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        async Task Handler(KavachSubscriptionChange change, CancellationToken ct)
        {
            if (running.AddOrUpdate(change.EventId, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            try
            {
                if (runs.AddOrUpdate(change.EventId, 1, (_, n) => n + 1) == 1)
                {
                    // The first run ignores its token and takes longer than the lease and the callback timeout.
                    await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None);
                }
            }
            finally
            {
                running.AddOrUpdate(change.EventId, 0, (_, n) => n - 1);
            }
        }

        var pace = new CallbackDispatchSettings { Lease = TimeSpan.FromSeconds(2), CallbackTimeout = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(100) };
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = Handler, Services = s => s.AddSingleton(pace) });
        await using var b = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Configure = o => o.OnSubscriptionChange = Handler,
                Services = s => s.AddSingleton(pace).AddSingleton<TimeProvider>(new AheadTimeProvider(TimeSpan.FromSeconds(30))),
                CreateSchema = false,
            });

        var id = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.Accepted, (await a.PostWebhookAsync(Compact(Example("subscription.created.json")), id, ct: Ct)).StatusCode);

        await Wait.UntilAsync(() => Task.FromResult(runs.GetValueOrDefault(id) >= 2), TimeSpan.FromSeconds(30), "the change runs again after the slow run");
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(0, Volatile.Read(ref overlaps));
        Assert.Equal(0, running.GetValueOrDefault(id));
    }

    [Fact]
    public async Task A_slow_callback_does_not_hold_up_other_users_callbacks()
    {
        var slowStarted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var delivered = new ConcurrentQueue<string>();
        async Task Handler(KavachSubscriptionChange change, CancellationToken ct)
        {
            if (change.UserId == "slow-user")
            {
                slowStarted.TrySetResult();
                await release.Task; // ignores its token, like a handler stuck on a remote call
            }

            delivered.Enqueue(change.UserId);
        }

        var pace = new CallbackDispatchSettings { SlowCallbackAfter = TimeSpan.FromMilliseconds(500), PollInterval = TimeSpan.FromMilliseconds(100) };
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = Handler, Services = s => s.AddSingleton(pace) });
        try
        {
            await app.PostWebhookAsync(Compact(Subscription("subscription.created", "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c71", externalId: "slow-user", customerId: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d81")), ct: Ct);
            await slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

            // Changes of other users, queued after the slow one started, still run while it hangs.
            await app.PostWebhookAsync(Compact(Subscription("subscription.created", "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c72", externalId: "user-b", customerId: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d82")), ct: Ct);
            await app.PostWebhookAsync(Compact(Subscription("subscription.created", "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c73", externalId: "user-c", customerId: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d83")), ct: Ct);
            await KavachTestApp.EventuallyAsync(() => delivered.Contains("user-b") && delivered.Contains("user-c"), TimeSpan.FromSeconds(10), "other users' callbacks run while one hangs");
            Assert.DoesNotContain("slow-user", delivered);
        }
        finally
        {
            release.TrySetResult();
        }

        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Contains("slow-user", delivered);
    }

    private sealed class AheadTimeProvider(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }
}
