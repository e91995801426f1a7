using System.Net;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>Host DbContext settings that must not change what KavachPolar stores.</summary>
public sealed class HostConfigurationTests : DatabaseTest
{
    [Fact]
    public async Task A_host_with_no_tracking_queries_and_retry_on_failure_still_gets_every_update()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Database = o => o
                .UseNpgsql(Db.ConnectionString, npgsql => npgsql.EnableRetryOnFailure(3))
                .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking),
        });

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct)).StatusCode);
        Assert.Equal("active", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users", Ct));
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.canceled.json")), ct: Ct)).StatusCode);
        Assert.True(await Db.ScalarAsync<bool>("SELECT polar_cancel_at_period_end FROM kavach_users", Ct));
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.revoked.json")), ct: Ct)).StatusCode);
        Assert.Null(await Db.ScalarAsync<string>("SELECT polar_subscription_id FROM kavach_users", Ct));
        Assert.Equal("canceled", await Db.ScalarAsync<string>("SELECT status FROM kavach_polar_subscriptions", Ct));
    }
}
