using System.Net;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>Host DbContext settings that must not change what KavachPolar stores.</summary>
public sealed class HostConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_host_with_no_tracking_queries_and_retry_on_failure_still_gets_every_update()
    {
        await using var db = await PostgresDatabase.CreateAsync(Ct);
        await using var app = await KavachTestApp.StartAsync(db.ConnectionString, new()
        {
            Database = o => o
                .UseNpgsql(db.ConnectionString, npgsql => npgsql.EnableRetryOnFailure(3))
                .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking),
        });

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct)).StatusCode);
        Assert.Equal("active", await db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users", Ct));
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.canceled.json")), ct: Ct)).StatusCode);
        Assert.True(await db.ScalarAsync<bool>("SELECT polar_cancel_at_period_end FROM kavach_users", Ct));
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.revoked.json")), ct: Ct)).StatusCode);
        Assert.Null(await db.ScalarAsync<string>("SELECT polar_subscription_id FROM kavach_users", Ct));
        Assert.Equal("canceled", await db.ScalarAsync<string>("SELECT status FROM kavach_polar_subscriptions", Ct));
    }

    [Fact]
    public async Task Stopping_the_app_hands_running_callbacks_back_at_once()
    {
        await using var db = await PostgresDatabase.CreateAsync(Ct);
        var started = new TaskCompletionSource();
        var app = await KavachTestApp.StartAsync(db.ConnectionString, new()
        {
            Configure = o => o.OnSubscriptionChange = async (_, ct) =>
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            },
        });
        await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL", Ct));

        await app.DisposeAsync();

        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL OR locked_until_us IS NOT NULL", Ct));
    }

    [Fact]
    public async Task Stopping_the_app_keeps_the_lease_of_a_callback_that_ignores_its_token_so_no_other_instance_runs_it_meanwhile()
    {
        await using var db = await PostgresDatabase.CreateAsync(Ct);
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var app = await KavachTestApp.StartAsync(db.ConnectionString, new()
        {
            Configure = o => o.OnSubscriptionChange = async (_, _) =>
            {
                started.TrySetResult();
                await release.Task;
            },
        });
        try
        {
            await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

            await app.DisposeAsync();

            Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL AND locked_until_us IS NOT NULL", Ct));
        }
        finally
        {
            release.TrySetResult();
        }
    }
}
