using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Callbacks;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// A change reaches the handlers of the app's hosts whichever process wrote it (a job, a command-line tool, a host that
/// only takes webhooks): hosts with a handler declare the kinds they handle in <c>kavach_polar_handled_kinds</c>, and
/// writers queue a callback of a kind only while a host's declaration of it is younger than
/// <see cref="CallbackKinds.Lifetime"/>.
/// </summary>
public sealed class CallbacksFromAnyProcessTests : DatabaseTest
{
    [Fact]
    public async Task A_reconcile_by_a_job_without_handlers_reaches_the_handler_of_a_running_host()
    {
        await using var polar = await PolarEmulator.StartAsync(new PolarEmulatorOptions(), Ct);
        // The host handles subscription changes; Polar's webhooks never reach it (no endpoint), so only the job's
        // reconcile can tell it of the subscription.
        await using var host = await KavachTestApp.StartAsync(Db.ConnectionString, polar);
        await WaitUntilDeclaredAsync();
        using var client = host.ClientFor("user-job-1", "b.liskov@gmail.com");
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[0].Id }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var payment = await polar.PayCheckoutAsync((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!, cancellationToken: Ct);

        var result = await KavachJob.RunAsync(Db.ConnectionString, s => s.ReconcileUserAsync("user-job-1", Ct), polar.BaseUrl, polar.AccessToken);
        Assert.True(result.Succeeded);

        await Wait.UntilAsync(
            () => Task.FromResult(host.Changes.Any(c => c.UserId == "user-job-1")),
            because: "the host's handler receives the change the job made");
        var change = Assert.Single(host.Changes);
        Assert.Equal(payment.SubscriptionId, change.Current?.Id);
        Assert.Null(change.Previous);
        Assert.Equal("reconcile", change.EventType);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_webhook_taken_by_a_host_without_handlers_reaches_the_handler_of_another_host(bool fastPath)
    {
        await using var receiver = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = fastPath, Configure = o => o.OnSubscriptionChange = null });
        await using var worker = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        await WaitUntilDeclaredAsync();

        await receiver.DeliverAsync(Compact(Subscription("subscription.created", "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c01", createdAt: T0)), ct: Ct);

        await Wait.UntilAsync(
            () => Task.FromResult(!worker.Changes.IsEmpty),
            because: "the other host's handler receives the change");
        Assert.Equal("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c01", Assert.Single(worker.Changes).Current?.Id);
        Assert.Empty(receiver.Changes);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_writer_whose_app_has_no_host_handling_the_kind_queues_nothing(bool fastPath)
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = fastPath, Configure = o => o.OnSubscriptionChange = null });
        await app.DeliverAsync(Compact(Subscription("subscription.created", "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c02", createdAt: T0)), ct: Ct);

        Assert.Equal("active", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users WHERE id = 'usr_1337'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_handled_kinds", Ct));
    }

    [Fact]
    public async Task A_declaration_counts_while_its_host_is_down_and_stops_the_queuing_once_expired()
    {
        const string subscriptionId = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c03";
        await using (await KavachTestApp.StartAsync(Db.ConnectionString))
        {
            await WaitUntilDeclaredAsync();
        }

        // The only host with a handler is down (a deploy, an outage) and declared a minute short of the lifetime ago:
        // a change written meanwhile waits for it.
        await AgeDeclarationAsync(CallbackKinds.Lifetime - TimeSpan.FromMinutes(1));
        await using (var writer = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Configure = o => o.OnSubscriptionChange = null }))
        {
            await writer.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        }

        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));

        // No host has declared it for longer than the lifetime (its handler was removed): nothing more is queued.
        await AgeDeclarationAsync(CallbackKinds.Lifetime + TimeSpan.FromMinutes(1));
        await using (var writer = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Configure = o => o.OnSubscriptionChange = null }))
        {
            await writer.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        }

        Assert.True(await Db.ScalarAsync<bool>("SELECT polar_cancel_at_period_end FROM kavach_users WHERE id = 'usr_1337'", Ct));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
    }

    [Fact]
    public async Task Without_the_table_each_process_queues_for_its_own_handlers_and_the_log_names_the_fix()
    {
        // A database migrated before the table came (a host's own DbContext without the new migration).
        await using (await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = null }))
        {
        }

        await Db.ScalarAsync<int>("DROP TABLE kavach_polar_handled_kinds; SELECT 1", Ct);
        await using var host = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        await using var writer = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Configure = o => o.OnSubscriptionChange = null });
        await Wait.UntilAsync(() => Task.FromResult(host.Logs.Lines.Any(l => l.Contains("[3006]", StringComparison.Ordinal))), because: "the host says it cannot declare");

        // The handler-less writer applies the change and queues nothing; the host's own changes still reach its handler.
        Assert.Equal(HttpStatusCode.Accepted, (await writer.DeliverAsync(Compact(Subscription("subscription.created", "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c04", createdAt: T0)), ct: Ct)).StatusCode);
        Assert.Equal("active", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users WHERE id = 'usr_1337'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
        Assert.Single(writer.Logs.Lines, l => l.Contains("[3006]", StringComparison.Ordinal) && l.Contains("add a migration", StringComparison.Ordinal));

        await host.DeliverAsync(Compact(Subscription("subscription.updated", "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c04", createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(() => Task.FromResult(!host.Changes.IsEmpty), because: "the host's handler receives its own change");
        Assert.True(Assert.Single(host.Changes).Current?.CancelAtPeriodEnd);
    }

    /// <summary>Until a host has declared that it handles subscription changes.</summary>
    private Task WaitUntilDeclaredAsync() =>
        Wait.UntilAsync(
            async () => await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_handled_kinds WHERE kind = '{CallbackKinds.Subscription}'", Ct) == 1,
            because: "the host declares the kind it handles");

    /// <summary>Makes the subscription kind's declaration <paramref name="age"/> old by the database's clock.</summary>
    private Task<int> AgeDeclarationAsync(TimeSpan age) =>
        Db.ScalarAsync<int>(
            $"UPDATE kavach_polar_handled_kinds SET declared_at_us = (extract(epoch from clock_timestamp()) * 1000000)::bigint - {(long)age.TotalMicroseconds} WHERE kind = '{CallbackKinds.Subscription}' RETURNING 1",
            Ct);
}
