using System.Net;
using KavachPolar.Tests.Infrastructure;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// The host owns <c>kavach_users</c> too: it may map the table into its own DbContext (<c>ApplyKavachPolarModel</c>)
/// and create users at sign-up. A webhook whose transaction collides with such a write must not be
/// acknowledged unless its effects were committed.
/// </summary>
public sealed class ConcurrentHostWriteTests : DatabaseTest
{
    [Fact]
    public async Task A_webhook_colliding_with_the_host_creating_the_same_user_is_not_acknowledged_without_its_effects()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString);
        var body = Compact(Example("subscription.created.json"));
        var id = Guid.NewGuid().ToString();

        HttpResponseMessage first;
        await using (var host = new NpgsqlConnection(Probe.ConnectionString))
        {
            await host.OpenAsync(Ct);
            await using var tx = await host.BeginTransactionAsync(Ct);
            await using (var insert = new NpgsqlCommand(
                $"INSERT INTO kavach_users (id, email, polar_cancel_at_period_end, created_at, updated_at) VALUES ('{ExampleExternalId}', 'jane.doe@gmail.com', false, now(), now())", host, tx))
            {
                await insert.ExecuteNonQueryAsync(Ct);
            }

            // The webhook, seeing no user yet, inserts one too and waits on the host's uncommitted row.
            var pending = app.PostWebhookAsync(body, id, ct: Ct);
            await Wait.UntilAsync(
                async () => await Probe.ScalarAsync<long>(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND (query ILIKE '%INSERT INTO%kavach_users%' OR query ILIKE '%kavach_polar_apply_subscription%')", Ct) == 1,
                because: "the webhook's transaction waits on the host's insert");
            await tx.CommitAsync(Ct);
            first = await pending;
        }

        if (first.IsSuccessStatusCode)
        {
            Assert.Equal(1L, await Probe.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_webhook_events WHERE id = '{id}'", Ct));
            Assert.Equal(1L, await Probe.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_subscriptions WHERE id = '{ExampleSubscriptionId}'", Ct));
        }
        else
        {
            await DatabaseDownTests.AssertStoreUnavailableAsync(first);
        }

        // Polar retries whatever was not a 2xx: the event ends up applied to the host's user.
        var response = first;
        for (var attempt = 0; !response.IsSuccessStatusCode; attempt++)
        {
            Assert.True(attempt < 10, "the webhook kept failing");
            response = await app.PostWebhookAsync(body, id, ct: Ct);
        }

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var user = Assert.Single(await Probe.QueryAsync("SELECT polar_subscription_id, polar_subscription_status, polar_customer_id FROM kavach_users", Ct));
        Assert.Equal(ExampleSubscriptionId, user["polar_subscription_id"]);
        Assert.Equal("active", user["polar_subscription_status"]);
        Assert.Equal(ExampleCustomerId, user["polar_customer_id"]);
        Assert.Equal("applied", await Probe.ScalarAsync<string>($"SELECT outcome FROM kavach_polar_webhook_events WHERE id = '{id}'", Ct));
        await KavachTestApp.EventuallyAsync(() => !app.Changes.IsEmpty);
        Assert.Equal(id, Assert.Single(app.Changes).EventId);
    }
}
