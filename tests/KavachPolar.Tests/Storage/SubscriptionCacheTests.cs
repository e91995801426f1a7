using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// The per-instance read cache (GET subscription, the gate, IsEntitledAsync) stays true: a change is seen at once by
/// the instance that committed it and within a second by another one (PostgreSQL LISTEN/NOTIFY), on both write paths,
/// and after the notification connection drops.
/// </summary>
public sealed class SubscriptionCacheTests : DatabaseTest
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_change_on_one_instance_is_seen_by_its_own_reads_at_once_and_by_another_instances_within_a_second(bool fastPath)
    {
        var readsOnB = new QueryCounter();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = fastPath });
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(readsOnB) });
        using var onA = a.ClientFor("usr_1337");
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e21";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);

        // B reads once from the database, then from memory.
        Assert.Equal("active", (string?)(await CachedAsync(b, onB, writers: [a]))!["status"]);
        var queries = readsOnB.Count;
        Assert.Equal("active", (string?)(await SubscriptionAsync(onB))!["status"]);
        Assert.Equal(queries, readsOnB.Count);

        // A change committed on A: A sees it at once, B within a second.
        await SubscriptionAsync(onA); // A's cache is warm too
        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        Assert.True((bool)(await SubscriptionAsync(onA))!["cancelAtPeriodEnd"]!);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task After_the_notification_connection_drops_the_cache_stops_serving_and_starts_empty_when_it_reconnects()
    {
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e22";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);

        // Cut the listeners off, then change the subscription: B cannot hear about it.
        await Db.ScalarAsync<int>("SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND datname = current_database()", Ct);
        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);

        Assert.True((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);
        await Wait.UntilAsync(async () => await ListenersAsync() == 2, because: "the listeners reconnect");
        Assert.True((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);
        Assert.Contains(b.Logs.Lines, l => l.Contains("[3003]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_listener_signs_in_like_a_host_data_source_whose_password_provider_holds_the_password()
    {
        const string role = "kavach_password_user";
        const string password = "kavach-listener-pw-0123";
        await Db.QueryAsync($"DO $$ BEGIN CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'; EXCEPTION WHEN duplicate_object THEN ALTER ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'; END $$", Ct);
        var withoutPassword = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Username = role, Password = null }.ConnectionString;
        try
        {
            await using var bare = new NpgsqlConnection(withoutPassword + ";Pooling=false");
            await bare.OpenAsync(Ct);
            Assert.Fail($"The test cluster let {role} in without a password: its pg_hba.conf needs 'host all {role} 127.0.0.1/32 scram-sha-256' first (scripts/test.sh writes it).");
        }
        catch (NpgsqlException)
        {
        }

        var sources = new NpgsqlDataSourceBuilder(withoutPassword);
        sources.UsePasswordProvider(_ => password, (_, _) => ValueTask.FromResult(password));
        await using var dataSource = sources.Build();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Database = o => o.UseNpgsql(dataSource) });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e23";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await Wait.UntilAsync(
            async () => await Db.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND usename = '{role}' AND datname = current_database()", Ct) == 1,
            because: "B's listener signs in with the password its data source provides");
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);

        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));

        Assert.DoesNotContain(b.Logs.Lines, l => l.Contains("[3003]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_empty_announcement_makes_an_instance_forget_everyone_it_cached()
    {
        var readsOnB = new QueryCounter();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false, Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(readsOnB) });
        using var onB = b.ClientFor("usr_1337");
        await a.DeliverAsync(Compact(Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e24", createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        await CachedAsync(b, onB, writers: [a]);
        var queries = readsOnB.Count;
        await SubscriptionAsync(onB);
        Assert.Equal(queries, readsOnB.Count);

        // What an instance sends when more users wait to be announced than one announcement should name.
        await Db.ScalarAsync<string>("SELECT pg_notify('kavach_polar_users', '')::text", Ct);
        await Wait.UntilAsync(
            async () =>
            {
                var before = readsOnB.Count;
                await SubscriptionAsync(onB);
                return readsOnB.Count > before;
            },
            Wait.ForAnnouncement,
            "instance B reads the user from the database again before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task An_announcement_whose_kept_connection_was_dropped_goes_out_at_once_on_a_fresh_one()
    {
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e25";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        await Wait.UntilAsync(async () => await AnnouncersAsync() >= 1, because: "A's announcer connects for its first announcement");
        Assert.False((bool)(await CachedAsync(b, onB, writers: [a]))!["cancelAtPeriodEnd"]!);

        // The only announcement of this change goes out on a connection the server has dropped (as an idle timeout
        // or a pooler would): A sends it again at once on a fresh connection, without a warning.
        await Db.ScalarAsync<int>("SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = 'KavachPolar change announcer' AND datname = current_database()", Ct);
        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change before its cache expires (30 s)",
            interval: TimeSpan.FromMilliseconds(20));
        Assert.DoesNotContain(a.Logs.Lines, l => l.Contains("[3004]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public async Task A_redelivery_of_a_change_whose_announcement_was_lost_makes_the_instance_it_reaches_forget_the_user(bool snapshotNamesTheUser, bool fastPath)
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = fastPath }); // without it, both take the general path
        await using var a = await KavachTestApp.StartAsync(viaProxy, new() { CreateSchema = false });
        using var onA = a.ClientFor("usr_1337");
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e26";
        await b.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        Assert.False((bool)(await CachedAsync(b, onB, writers: [b]))!["cancelAtPeriodEnd"]!);
        Assert.False((bool)(await SubscriptionAsync(onA))!["cancelAtPeriodEnd"]!);

        // A commits the change but cannot get its announcement out (its announcer's connections, open or new, hang), as
        // if it had died right after the commit. Polar, which did not get A's answer, redelivers, and the load
        // balancer sends the delivery to B.
        proxy.HangApplication = "KavachPolar change announcer";
        // Without a name (no metadata, no external id) the subscription belongs to whoever holds its customer.
        var update = Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true, externalId: snapshotNamesTheUser ? ExampleExternalId : null));
        const string webhookId = "7d1c0b9a-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await a.DeliverAsync(update, webhookId, ct: Ct)).StatusCode);
        // The premise: A's announcement did not go out. (At least this user; a delivery that answered 503 under load and
        // was delivered again also announces whom its uncertain first attempt may have changed.)
        Assert.True(WaitingAnnouncements(a) >= 1, "A's announcement is still waiting");
        Assert.True(b.Services.GetRequiredService<SubscriptionCache>().TryGet("usr_1337", out _), "B still holds the user in its cache");
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!); // and serves what it cached

        var redelivery = await b.DeliverAsync(update, webhookId, ct: Ct);
        Assert.Equal("duplicate", (string?)(await redelivery.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        Assert.True((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);
        proxy.HangApplication = null;
    }

    [Fact]
    public async Task An_announcement_that_cannot_be_sent_waits_and_goes_out_once_the_database_answers_again()
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var a = await KavachTestApp.StartAsync(viaProxy, new() { CreateSchema = false, Settings = new Dictionary<string, string?> { ["KavachPolar:DatabaseTimeout"] = "00:00:01" } });
        using var onA = a.ClientFor("usr_1337");
        using var onB = b.ClientFor("usr_1337");
        var meters = a.Services.GetRequiredService<IMeterFactory>();
        using var announcements = new MetricCollector<long>(meters, "KavachPolar", "kavach_polar.announcements");
        using var waiting = new MetricCollector<int>(meters, "KavachPolar", "kavach_polar.announcements.waiting");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e29";
        await b.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await CachedAsync(b, onB, writers: [b]))!["cancelAtPeriodEnd"]!);
        Assert.False((bool)(await SubscriptionAsync(onA))!["cancelAtPeriodEnd"]!);

        // A commits; its announcer cannot connect (its login hangs) and gives up.
        proxy.HangApplication = "KavachPolar change announcer";
        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(() => Task.FromResult(a.Logs.Lines.Any(l => l.Contains("[3004]", StringComparison.Ordinal))), because: "A's announcement fails and is logged");
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);
        Assert.Contains(announcements.GetMeasurementSnapshot(), m => (string?)m.Tags["result"] == "failed");
        waiting.RecordObservableInstruments();
        Assert.Equal(1, waiting.LastMeasurement?.Value); // the user whose change waits

        // The database answers again: the waiting announcement goes out on the next try, and B hears it. (Waiting for B
        // alone could pass for another reason: a loaded machine can make B's listener miss its own probe and reconnect,
        // which empties its cache too.)
        proxy.HangApplication = null;
        await Wait.UntilAsync(
            () => Task.FromResult(announcements.GetMeasurementSnapshot().Any(m => (string?)m.Tags["result"] == "sent")),
            TimeSpan.FromSeconds(15),
            "A's waiting announcement goes out once the database answers (back-off at most 5 s)");
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change once A's announcement is out (its cache would keep the old state for 30 s)");
        waiting.RecordObservableInstruments();
        Assert.Equal(0, waiting.LastMeasurement?.Value);
    }

    [Fact]
    public async Task A_change_made_in_a_process_that_runs_no_host_is_announced_too()
    {
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString);
        using var onB = b.ClientFor("usr_1337");
        await b.DeliverAsync(Compact(Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e27", createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.NotNull(await CachedAsync(b, onB, writers: [b]));

        // A job or a command-line tool: the services without a host, so no hosted service ever starts.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddDbContext<KavachPolarDbContext>(o => o.UseNpgsql(Db.ConnectionString));
        services.AddKavachPolar(o =>
        {
            o.AccessToken = "polar_oat_job";
            o.WebhookSecret = KavachTestApp.DefaultSecret;
        });
        // The job disposes its services as soon as the call returns: the announcement must be out by then.
        await using (var job = services.BuildServiceProvider())
        {
            await using var scope = job.CreateAsyncScope();
            Assert.True(await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ForgetUserAsync("usr_1337", Ct));
        }

        await Wait.UntilAsync(
            async () => await SubscriptionAsync(onB) is null,
            Wait.ForAnnouncement,
            "instance B forgets the user before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task A_change_replayed_in_a_process_that_runs_no_host_is_announced_and_reaches_the_hosts_handler()
    {
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString);
        using var onB = b.ClientFor("usr_1337");
        await WaitUntilListeningAsync(b);
        Assert.Null(await CachedAsync(b, onB, writers: [b]));
        await Wait.UntilAsync(
            async () => await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_handled_kinds", Ct) == 1,
            because: "instance B declares that it handles subscription changes");

        // A delivery an earlier release recorded as unprocessable, replayed by a job after the upgrade: the services
        // without a host and without a handler, disposed as soon as the call returns.
        var body = Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e29", createdAt: T0);
        await Db.ScalarAsync<int>(
            $"INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at, payload, error) VALUES ('{Guid.NewGuid()}', 'subscription.created', 'unprocessable', now(), $p${body.ToJsonString()}$p$, 'an older parser') RETURNING 1",
            Ct);
        Assert.Equal(1, (await ReplayAsJobAsync()).Replayed);

        await Wait.UntilAsync(
            async () => await SubscriptionAsync(onB) is not null,
            Wait.ForAnnouncement,
            "instance B shows the subscription before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));
        await Wait.UntilAsync(() => Task.FromResult(!b.Changes.IsEmpty), because: "instance B's handler receives the change");
        var change = Assert.Single(b.Changes);
        Assert.Equal("usr_1337", change.UserId);
        Assert.Equal("e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e29", change.Current?.Id);
        Assert.Null(change.Previous);
    }

    [Fact]
    public async Task A_user_id_no_row_can_have_does_not_hold_back_the_announcements_after_it()
    {
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e28";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await CachedAsync(b, onB, writers: [a]))!["cancelAtPeriodEnd"]!);

        // The host asks A to forget an id PostgreSQL text cannot hold: the call fails, and A must not try to announce
        // that id (PostgreSQL would refuse the announcement, and every later one with it).
        await using (var scope = a.Services.CreateAsyncScope())
        {
            var forget = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>();
            await Assert.ThrowsAnyAsync<Exception>(() => forget.ForgetUserAsync("usr\0bad", Ct));
        }

        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change before its cache expires",
            interval: TimeSpan.FromMilliseconds(20));
        Assert.DoesNotContain(a.Logs.Lines, l => l.Contains("[3004]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_user_whose_id_starts_like_the_listeners_probe_is_forgotten_by_other_instances_too()
    {
        // The listener's probe once went out on the announcement channel as "kavach-probe:<guid>", and every payload
        // with that prefix was taken for a probe, never for a user.
        const string user = "kavach-probe:usr_1337";
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        using var onB = b.ClientFor(user);
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e30";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0, externalId: user)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await CachedAsync(b, onB, writers: [a], userId: user))!["cancelAtPeriodEnd"]!);

        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true, externalId: user)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            Wait.ForAnnouncement,
            "instance B shows the change before its cache expires (30 s)",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task A_user_read_late_in_the_cache_entrys_life_is_read_again_in_the_background_and_keeps_being_served_from_memory()
    {
        // The subscription is written by another instance (the one-statement path): the reader's own writes would take
        // the general path (its query counter is an EF Core interceptor), whose first delivery on a loaded machine can
        // answer 503 and commit later, and the announcement of that late commit would empty the reader's cache mid-test.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var reads = new QueryCounter();
        await using var writer = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                CreateSchema = false,
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:00:08" },
                Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(reads),
                Services = s => s.AddSingleton<TimeProvider>(clock),
            });
        using var client = app.ClientFor("usr_1337");
        await writer.DeliverAsync(Compact(Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e41", createdAt: T0)), ct: Ct);
        Assert.Equal("active", (string?)(await CachedAsync(app, client, writers: [writer]))!["status"]);
        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        Assert.True(cache.TryGet("usr_1337", out var first));
        var before = reads.Count;

        // 7.5 s of an 8 s life (past its refresh point, somewhere from 4 s to 7.2 s): served from memory, and read again
        // behind the answer, once however many ask.
        clock.Advance(TimeSpan.FromSeconds(7.5));
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => SubscriptionAsync(client)));
        CachedUser? refreshed = null;
        await Wait.UntilAsync(
            () => Task.FromResult(cache.TryGet("usr_1337", out refreshed) && !ReferenceEquals(refreshed, first)),
            because: "the entry is read again in the background and replaced");
        Assert.Equal(before + 1, reads.Count);

        // Past the first entry's 8 s (and before the refreshed one's refresh point): the refreshed one serves, without
        // the database.
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("active", (string?)(await SubscriptionAsync(client))!["status"]);
        Assert.True(cache.TryGet("usr_1337", out var served) && ReferenceEquals(served, refreshed), "the refreshed entry still serves");
        Assert.Equal(before + 1, reads.Count);

        // It was read in its life, so before it expires (15.5 s) the cache's sweep (every second here) reads it again,
        // though nobody asks: at the first sweep past its refresh point (11.5 to 14.7 s), or at 14 s, when the next
        // sweep would come too late.
        clock.Advance(TimeSpan.FromSeconds(4));
        CachedUser? warm = null;
        await Wait.UntilAsync(
            () => Task.FromResult(cache.TryGet("usr_1337", out warm) && !ReferenceEquals(warm, refreshed)),
            because: "an entry read in its life is read again before it expires");
        Assert.Equal(before + 2, reads.Count);

        // Nobody reads that one: it expires 8 s after it was read (by 22 s), and the next read goes to the database.
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(cache.TryGet("usr_1337", out _), "an entry nobody read expires");
        Assert.Equal(before + 2, reads.Count);
    }

    [Fact]
    public async Task Through_ef_core_a_background_refresh_whose_read_of_one_user_fails_still_reads_the_others()
    {
        // Through EF Core (a host's interceptor) a refresh batch reads its users one after another: the first read fails,
        // the second must still be read. Rows the host writes itself, so no announcement empties the cache mid-test.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var failing = new FailNextRead();
        string[] users = ["skip-user-a", "skip-user-b"];
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:00:08" },
                Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(failing),
                Services = s => s.AddSingleton<TimeProvider>(clock),
            });
        await Db.ScalarAsync<object>(
            "INSERT INTO kavach_users (id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end, created_at, updated_at) "
            + "VALUES ('skip-user-a', 'sub_skip_a', 'active', 'prod_a', false, now(), now()), ('skip-user-b', 'sub_skip_b', 'active', 'prod_a', false, now(), now())",
            Ct);
        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        var reader = app.Services.GetRequiredService<KavachPolar.Services.SubscriptionReader>();
        var first = new Dictionary<string, CachedUser>();
        foreach (var user in users)
        {
            using var client = app.ClientFor(user);
            await CachedAsync(app, client, writers: [], userId: user);
            Assert.True(cache.TryGet(user, out var entry));
            first[user] = entry;
        }

        // 7.3 s of an 8 s life: past both refresh points (4 to 7.2 s). Both are read now, one after the other: the
        // refresh that this starts reads them together, and the first of its reads fails.
        clock.Advance(TimeSpan.FromSeconds(7.3));
        failing.Arm();
        Assert.True(reader.TryGetCached(users[0], out _));
        Assert.True(reader.TryGetCached(users[1], out _));

        await Wait.UntilAsync(
            () => Task.FromResult(users.Count(u => cache.TryGet(u, out var now) && !ReferenceEquals(now, first[u])) == 1),
            because: "the user after the failed read is read again");
        Assert.True(failing.Failed, "one read failed");
        var kept = Assert.Single(users, u => cache.TryGet(u, out var now) && ReferenceEquals(now, first[u]));
        Assert.Equal("sub_skip_" + kept[^1], cache.TryGet(kept, out var old) ? old.Current?.Id : null); // still serving
    }

    [Fact]
    public async Task Users_whose_entries_come_due_together_are_read_again_with_one_query_a_batch_each_from_its_own_row()
    {
        // Rows the host writes itself (the README allows it: seen after the expiry), so that the refresh has something to
        // find and no announcement empties the cache mid-test. 30 users with a row, one without.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        string[] users = [.. Enumerable.Range(0, 30).Select(i => $"batch-user-{i}")];
        const string none = "batch-user-none";
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:00:08" },
                Services = s => s.AddSingleton<TimeProvider>(clock),
            });
        await Db.ScalarAsync<object>(
            "INSERT INTO kavach_users (id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end, created_at, updated_at) "
            + "SELECT 'batch-user-' || i, 'sub_' || i || '_a', 'active', 'prod_a', false, now(), now() FROM generate_series(0, 29) AS i",
            Ct);
        foreach (var user in users.Append(none))
        {
            using var client = app.ClientFor(user);
            await CachedAsync(app, client, writers: [], userId: user);
        }

        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        var cached = users.Append(none).ToDictionary(u => u, u => cache.TryGet(u, out var state) ? state : throw new InvalidOperationException(u + " is not cached"));
        Assert.Equal("sub_7_a", cached["batch-user-7"].Current?.Id);
        Assert.Null(cached[none].Current);
        await Db.ScalarAsync<object>("UPDATE kavach_users SET polar_subscription_id = replace(polar_subscription_id, '_a', '_b') WHERE id LIKE 'batch-user-%'", Ct);

        // Count what the reads send from here on.
        using var reads = new ReadQueries(Db.ConnectionString);

        // 7.5 s of an 8 s life: every entry is past its refresh point. The table is locked while the reads come, so the
        // first refresh waits in PostgreSQL while the others are asked for: those must then go as one query.
        clock.Advance(TimeSpan.FromSeconds(7.5));
        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            using (var first = app.ClientFor(users[0]))
            {
                Assert.Equal("sub_0_a", (string?)(await SubscriptionAsync(first))!["id"]);
            }

            await Wait.UntilAsync(async () => await WaitingForTableAsync() > 0, because: "the first refresh waits for the table");
            foreach (var user in users.Skip(1).Append(none))
            {
                using var client = app.ClientFor(user);
                var served = await SubscriptionAsync(client);
                Assert.Equal(user == none ? null : user.Replace("batch-user-", "sub_", StringComparison.Ordinal) + "_a", (string?)served?["id"]);
            }
        }

        await Wait.UntilAsync(
            () => Task.FromResult(users.Append(none).All(u => cache.TryGet(u, out var state) && !ReferenceEquals(state, cached[u]))),
            because: "every entry is read again and replaced");
        foreach (var user in users)
        {
            Assert.True(cache.TryGet(user, out var state));
            Assert.Equal(user.Replace("batch-user-", "sub_", StringComparison.Ordinal) + "_b", state.Current?.Id);
        }

        Assert.True(cache.TryGet(none, out var nothing));
        Assert.Null(nothing.Current);
        Assert.Equal(0, reads.One);
        Assert.Equal(2, reads.Many); // the one that waited, then the other 30 together
    }

    [Fact]
    public async Task A_background_read_that_fails_leaves_the_entries_serving_until_they_expire_and_later_ones_are_still_read_again()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:00:08", ["KavachPolar:DatabaseTimeout"] = "00:00:01" },
                Services = s => s.AddSingleton<TimeProvider>(clock),
            });
        await Db.ScalarAsync<object>(
            "INSERT INTO kavach_users (id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end, created_at, updated_at) "
            + "VALUES ('stuck-user', 'sub_a', 'active', 'prod_a', false, now(), now())",
            Ct);
        using var client = app.ClientFor("stuck-user");
        await CachedAsync(app, client, writers: [], userId: "stuck-user");
        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        Assert.True(cache.TryGet("stuck-user", out var cached));
        await Db.ScalarAsync<object>("UPDATE kavach_users SET polar_subscription_id = 'sub_b' WHERE id = 'stuck-user'", Ct);

        // The background read waits on a locked table past its 1 s budget and gives up.
        clock.Advance(TimeSpan.FromSeconds(7.5));
        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            Assert.Equal("sub_a", (string?)(await SubscriptionAsync(client))!["id"]);
            await Wait.UntilAsync(async () => await WaitingForTableAsync() > 0, because: "the background read waits for the table");
            await Task.Delay(TimeSpan.FromSeconds(2), Ct); // past the read's budget
            Assert.Equal("sub_a", (string?)(await SubscriptionAsync(client))!["id"]);
            Assert.True(cache.TryGet("stuck-user", out var still) && ReferenceEquals(still, cached), "the entry serves on after the failed read");
        }

        // It expires on time (8 s after it was read), the next read goes to the database, and the entry read then is read
        // again in the background when it comes due: the failure did not stop the refresher.
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet("stuck-user", out _), "the entry expired");
        Assert.Equal("sub_b", (string?)(await SubscriptionAsync(client))!["id"]);
        Assert.True(cache.TryGet("stuck-user", out var reread));
        await Db.ScalarAsync<object>("UPDATE kavach_users SET polar_subscription_id = 'sub_c' WHERE id = 'stuck-user'", Ct);
        clock.Advance(TimeSpan.FromSeconds(7.5));
        Assert.Equal("sub_b", (string?)(await SubscriptionAsync(client))!["id"]);
        await Wait.UntilAsync(
            () => Task.FromResult(cache.TryGet("stuck-user", out var state) && state.Current?.Id == "sub_c"),
            because: "the later entry is read again in the background");
    }

    [Fact]
    public async Task Users_who_miss_while_every_read_is_out_are_read_together_when_one_ends_each_getting_their_own_row()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString);
        await Db.ScalarAsync<object>(
            "INSERT INTO kavach_users (id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end, created_at, updated_at) "
            + "SELECT 'miss-user-' || i, 'sub_miss_' || i, 'active', 'prod_a', false, now(), now() FROM generate_series(0, 13) AS i",
            Ct);
        await WaitUntilListeningAsync(app);
        var reader = app.Services.GetRequiredService<KavachPolar.Services.SubscriptionReader>();
        var first = KavachPolar.Services.SubscriptionReader.ReadsInFlight;

        async Task<string?> ReadAsync(string user)
        {
            using var client = app.ClientFor(user);
            return (string?)(await SubscriptionAsync(client))?["id"];
        }

        Assert.Null(await ReadAsync("warm-up")); // the process has read over a raw connection once (a fresh one reads each miss at once)
        using var reads = new ReadQueries(Db.ConnectionString);

        // With the table locked, the first reads wait in PostgreSQL; the users who miss after them wait for one to end.
        Task<string?>[] asked;
        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            var out_ = Enumerable.Range(0, first).Select(i => ReadAsync($"miss-user-{i}")).ToList();
            await Wait.UntilAsync(async () => await WaitingForTableAsync() >= first, because: "every read allowed out waits for the table");
            var waiting = Enumerable.Range(first, 14 - first).Select(i => ReadAsync($"miss-user-{i}")).Append(ReadAsync("miss-user-none")).ToList();
            await Wait.UntilAsync(() => Task.FromResult(reader.Waiting == 15 - first), because: "the later users wait for a read to end");
            Assert.Equal(first, await WaitingForTableAsync()); // no more reads went out
            asked = [.. out_, .. waiting];
        }

        var answers = await Task.WhenAll(asked);
        Assert.Equal([.. Enumerable.Range(0, 14).Select(i => $"sub_miss_{i}"), null], answers);
        Assert.Equal(first, reads.One);
        Assert.Equal(1, reads.Many); // everyone who waited, with one query
    }

    [Fact]
    public async Task A_batch_of_waiting_users_holds_at_most_RefreshBatch_users_and_the_next_one_goes_with_the_next_read_to_end()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString);
        var first = KavachPolar.Services.SubscriptionReader.ReadsInFlight;
        var cap = KavachPolar.Services.SubscriptionReader.RefreshBatch;
        var total = first + cap + 44;
        await Db.ScalarAsync<object>(
            "INSERT INTO kavach_users (id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end, created_at, updated_at) "
            + $"SELECT 'cap-user-' || i, 'sub_cap_' || i, 'active', 'prod_a', false, now(), now() FROM generate_series(0, {total - 1}) AS i",
            Ct);
        await WaitUntilListeningAsync(app);
        var reader = app.Services.GetRequiredService<KavachPolar.Services.SubscriptionReader>();
        using var client = app.ClientFor("warm-up");

        async Task<string?> ReadAsync(string user)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/kavach/auth/polar/subscription");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Test", Uri.EscapeDataString(user) + "||");
            using var response = await client.SendAsync(request, Ct);
            response.EnsureSuccessStatusCode();
            return (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]?["id"];
        }

        Assert.Null(await ReadAsync("warm-up")); // the process has read over a raw connection once
        using var reads = new ReadQueries(Db.ConnectionString);

        Task<string?>[] asked;
        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            var out_ = Enumerable.Range(0, first).Select(i => ReadAsync($"cap-user-{i}")).ToList();
            await Wait.UntilAsync(async () => await WaitingForTableAsync() >= first, because: "every read allowed out waits for the table");
            var waiting = Enumerable.Range(first, total - first).Select(i => ReadAsync($"cap-user-{i}")).ToList();
            await Wait.UntilAsync(() => Task.FromResult(reader.Waiting == total - first), because: "the later users wait for a read to end");
            asked = [.. out_, .. waiting];
        }

        var answers = await Task.WhenAll(asked);
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"sub_cap_{i}"), answers);
        Assert.Equal(first, reads.One);
        Assert.Equal(2, reads.Many); // 256 users, then the other 44 with the next read to end
    }

    [Fact]
    public async Task Through_ef_core_every_miss_reads_at_once_as_many_at_a_time_as_the_pool_allows()
    {
        // A host's interceptor takes every read through EF Core, where a batch would be one query a user in turn.
        var first = KavachPolar.Services.SubscriptionReader.ReadsInFlight;
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new() { Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(new QueryCounter()) });
        await WaitUntilListeningAsync(app);
        var reader = app.Services.GetRequiredService<KavachPolar.Services.SubscriptionReader>();

        async Task<string?> ReadAsync(string user)
        {
            using var client = app.ClientFor(user);
            return (string?)(await SubscriptionAsync(client))?["id"];
        }

        Assert.Null(await ReadAsync("warm-up")); // as in the raw-connection tests, the process has read once
        Task<string?>[] asked;
        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            asked = [.. Enumerable.Range(0, first + 3).Select(i => ReadAsync($"ef-user-{i}"))];
            await Wait.UntilAsync(async () => await WaitingForTableAsync() >= first + 3, because: "every miss reads at once");
            Assert.Equal(0, reader.Waiting);
        }

        Assert.All(await Task.WhenAll(asked), Assert.Null);
    }

    [Fact]
    public async Task Users_who_wait_for_a_read_that_outlasts_the_database_budget_get_store_unavailable_and_reads_go_on_afterwards()
    {
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new() { Settings = new Dictionary<string, string?> { ["KavachPolar:DatabaseTimeout"] = "00:00:01" } });
        await WaitUntilListeningAsync(app);
        var reader = app.Services.GetRequiredService<KavachPolar.Services.SubscriptionReader>();
        var first = KavachPolar.Services.SubscriptionReader.ReadsInFlight;

        async Task<HttpResponseMessage> ReadAsync(string user)
        {
            using var client = app.ClientFor(user);
            return await client.GetAsync("api/kavach/auth/polar/subscription", Ct);
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, (await ReadAsync("warm-up")).StatusCode); // see the test above

        await using (await TableLock.TakeAsync(Db.ConnectionString))
        {
            var out_ = Enumerable.Range(0, first).Select(i => ReadAsync($"late-user-{i}")).ToList();
            await Wait.UntilAsync(async () => await WaitingForTableAsync() >= first, because: "every read allowed out waits for the table");
            var waiting = Enumerable.Range(0, 3).Select(i => ReadAsync($"late-waiter-{i}")).ToList();
            await Wait.UntilAsync(() => Task.FromResult(reader.Waiting == 3), because: "the later users wait for a read to end");

            // App code that waits gets what a read past its budget throws: a cancellation that is not its own.
            await using var scope = app.Services.CreateAsyncScope();
            var fromCode = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().GetSubscriptionAsync("late-waiter-code", Ct);
            await Wait.UntilAsync(() => Task.FromResult(reader.Waiting == 4), because: "app code waits for a read to end too");
            foreach (var response in await Task.WhenAll([.. out_, .. waiting]))
            {
                await KavachPolar.Tests.Endpoints.CheckoutEndpointTests.AssertProblemAsync(response, System.Net.HttpStatusCode.ServiceUnavailable, "store_unavailable");
            }

            var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fromCode);
            Assert.False(thrown.CancellationToken.IsCancellationRequested, "not the caller's cancellation");
        }

        // The lock is gone: what was left waiting ends, and reads are answered again.
        await Wait.UntilAsync(() => Task.FromResult(reader.Waiting == 0), because: "nobody is left waiting");
        var after = await ReadAsync("late-user-0");
        Assert.Equal(System.Net.HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_probe_heard_only_after_its_time_is_sent_again_on_the_same_connection_without_a_failure_logged()
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        await using var app = await KavachTestApp.StartAsync(
            viaProxy,
            new() { Services = s => s.AddSingleton(new CacheListener.Timing(ProbeInterval: TimeSpan.FromSeconds(1), ProbeTimeout: TimeSpan.FromSeconds(2))) });
        await WaitUntilListeningAsync(app);
        var listener = await ListenerPidAsync();
        Assert.True(listener != 0, "the listener's connection is in pg_stat_activity");

        // The listening connection goes silent until the listener, its probe not back in time, asks it whether it still
        // answers; then everything it held arrives at once: the probe's notification first, then the answer. That is a
        // probe heard late (as behind a pooler in transaction mode whose check ran on the server connection that had the
        // probe waiting), not a dead connection.
        proxy.BlackHoleApplication = "KavachPolar cache listener";
        await Wait.UntilAsync(
            () => Task.FromResult(proxy.HeldFromClients > 0),
            because: "the listener asks its silent connection whether it still answers",
            describe: async () => $"listener pid {await ListenerPidAsync()} (was {listener}), hearing {app.Services.GetRequiredService<SubscriptionCache>().Hearing}; the listener logged: {string.Join(" | ", app.Logs.Lines.Where(l => l.Contains("CacheListener", StringComparison.Ordinal)))}");
        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        await Wait.UntilAsync(() => Task.FromResult(!cache.Hearing), TimeSpan.FromSeconds(1), "the cache stops serving when the probe is due back", interval: TimeSpan.FromMilliseconds(5));
        proxy.BlackHoleApplication = null;

        await WaitUntilListeningAsync(app);
        var said = string.Join(" | ", app.Logs.Lines.Where(l => l.Contains("[3003]", StringComparison.Ordinal) || l.Contains("[3005]", StringComparison.Ordinal)));
        Assert.True(said.Length == 0, "the listener logged: " + said);
        Assert.Equal(listener, await ListenerPidAsync());
    }

    [Fact]
    public async Task A_listening_connection_that_goes_silent_stops_the_cache_once_a_probe_does_not_come_back_and_it_serves_again_once_back()
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port);
        // Npgsql's default command timeout, a cache that would keep the old state for ten minutes, a probe every second.
        var viaProxy = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, CommandTimeout = 30 }.ConnectionString;
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(
            viaProxy,
            new()
            {
                CreateSchema = false,
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:10:00" },
                Services = s => s.AddSingleton(new CacheListener.Timing(ProbeInterval: TimeSpan.FromSeconds(1), ProbeTimeout: TimeSpan.FromSeconds(1))),
            });
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e31";
        await a.DeliverAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await CachedAsync(b, onB, writers: [a]))!["cancelAtPeriodEnd"]!);

        // B's listening connection goes silent: no notification, no answer, no error. A's announcement never arrives.
        proxy.BlackHoleApplication = "KavachPolar cache listener";
        await a.DeliverAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            TimeSpan.FromSeconds(30),
            "instance B stops serving from memory once its probe does not come back, within about 2 s on a quiet machine (its cache would keep the old state for 10 minutes)");
        Assert.False(b.Services.GetRequiredService<SubscriptionCache>().Serving);

        proxy.BlackHoleApplication = null;
        // The listener reconnects with a backoff that grows by a second per failure in a row, up to 30 s: on a loaded
        // machine its 1 s probes kept failing while the connection was black-holed, so give it the backoff's maximum.
        await WaitUntilListeningAsync(b, TimeSpan.FromSeconds(60));
    }

    /// <summary>Until <paramref name="app"/>'s listener has heard its own probe, so that its cache serves.</summary>
    private static Task WaitUntilListeningAsync(KavachTestApp app, TimeSpan? timeout = null) =>
        Wait.UntilAsync(() => Task.FromResult(app.Services.GetRequiredService<SubscriptionCache>().Hearing), timeout, because: "the cache listener hears its own probe");

    /// <summary>
    /// Waits until <paramref name="reader"/> has heard every announcement that <paramref name="writers"/> made so far:
    /// each writer's announcements are out (none waiting), then a marker this test announces after them comes back to
    /// the reader, which hears a channel's notifications in commit order. The reader must be listening.
    /// </summary>
    private async Task HeardEverythingAsync(KavachTestApp reader, KavachTestApp[] writers)
    {
        foreach (var writer in writers)
        {
            await Wait.UntilAsync(() => Task.FromResult(WaitingAnnouncements(writer) == 0), because: "the writer's announcements are out");
        }

        var cache = reader.Services.GetRequiredService<SubscriptionCache>();
        var marker = "usr_marker_" + Guid.NewGuid().ToString("N");
        var stamp = cache.Stamp(marker);
        await Probe.ScalarAsync<object>($"SELECT pg_notify('{CacheChannel.Name}', '{marker}')", Ct);
        await Wait.UntilAsync(() => Task.FromResult(cache.Stamp(marker) != stamp), because: "the reader hears the marker announced after the writers' announcements");
    }

    /// <summary>How many users <paramref name="app"/> has yet to announce (those in flight included).</summary>
    private static int WaitingAnnouncements(KavachTestApp app)
    {
        using var waiting = new MetricCollector<int>(app.Services.GetRequiredService<IMeterFactory>(), "KavachPolar", "kavach_polar.announcements.waiting");
        waiting.RecordObservableInstruments();
        return waiting.LastMeasurement!.Value;
    }

    private Task<int> ListenerPidAsync() =>
        Db.ScalarAsync<int>("SELECT pid FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND datname = current_database() AND state IS NOT NULL", Ct);

    private Task<long> ListenersAsync() =>
        Db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND datname = current_database() AND state IS NOT NULL", Ct);

    private Task<long> AnnouncersAsync() =>
        Db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'KavachPolar change announcer' AND datname = current_database() AND state IS NOT NULL", Ct);

    /// <summary>
    /// Reads the user's subscription on <paramref name="app"/> until the instance keeps it in its cache, once it has
    /// heard every announcement <paramref name="writers"/> made (see <see cref="HeardEverythingAsync"/>): an
    /// announcement still on its way would empty the cache after this returns, and a test that relies on what the
    /// instance keeps could no longer fail for the reason it names.
    /// </summary>
    private async Task<JsonNode?> CachedAsync(KavachTestApp app, HttpClient client, KavachTestApp[] writers, string userId = "usr_1337")
    {
        await WaitUntilListeningAsync(app);
        await HeardEverythingAsync(app, writers);
        var cache = app.Services.GetRequiredService<SubscriptionCache>();
        JsonNode? subscription = null;
        await Wait.UntilAsync(
            async () =>
            {
                subscription = await SubscriptionAsync(client);
                return cache.TryGet(userId, out _);
            },
            because: "the instance keeps the user in its cache");
        return subscription;
    }

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];

    /// <summary>
    /// Counts the reads of users an instance sent to one database and that ended, one user a query (<see cref="One"/>) or
    /// several (<see cref="Many"/>): Npgsql traces every command it runs, with its text and database (known once it ends).
    /// </summary>
    private sealed class ReadQueries : IDisposable
    {
        private readonly System.Diagnostics.ActivityListener _listener;
        private int _one;
        private int _many;

        public ReadQueries(string connectionString)
        {
            var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
            _listener = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.GetTagItem("db.namespace") as string == database
                        && activity.GetTagItem("db.query.text") is string text
                        && text.Contains("FROM kavach_users u WHERE u.id = ", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref text.EndsWith("ANY($1)", StringComparison.Ordinal) ? ref _many : ref _one);
                    }
                },
            };
            System.Diagnostics.ActivitySource.AddActivityListener(_listener);
        }

        public int One => Volatile.Read(ref _one);

        public int Many => Volatile.Read(ref _many);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Holds <c>kavach_users</c> locked (reads wait in PostgreSQL) until disposed.</summary>
    private sealed class TableLock : IAsyncDisposable
    {
        private NpgsqlConnection? _connection;
        private NpgsqlTransaction? _transaction;

        public static async Task<TableLock> TakeAsync(string connectionString)
        {
            var taken = new TableLock { _connection = new NpgsqlConnection(connectionString) };
            await taken._connection.OpenAsync(Ct);
            taken._transaction = await taken._connection.BeginTransactionAsync(Ct);
            await using var command = new NpgsqlCommand("LOCK TABLE kavach_users IN ACCESS EXCLUSIVE MODE", taken._connection, taken._transaction);
            await command.ExecuteNonQueryAsync(Ct);
            return taken;
        }

        public async ValueTask DisposeAsync()
        {
            await _transaction!.RollbackAsync();
            await _connection!.DisposeAsync();
        }
    }

    private Task<long> WaitingForTableAsync() =>
        Probe.ScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE relation = 'kavach_users'::regclass AND NOT granted", Ct);

    /// <summary>Counts the queries an instance sends (a host's own interceptor could do the same).</summary>
    /// <summary>Fails the next read of a user through EF Core once armed, as a database error would.</summary>
    private sealed class FailNextRead : DbCommandInterceptor
    {
        private int _armed;
        private int _failed;

        public bool Failed => Volatile.Read(ref _failed) == 1;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("kavach_users", StringComparison.Ordinal) && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                Volatile.Write(ref _failed, 1);
                throw new InvalidOperationException("the database failed this read");
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    private sealed class QueryCounter : DbCommandInterceptor
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("kavach_users", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _count);
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    /// <summary>
    /// Runs the replay as a job would, again if the database's time budget ran out first: on a starved machine that is
    /// the designed answer (the work is rolled back, the row stays unprocessable, the job runs again), not what the
    /// test is about.
    /// </summary>
    private async Task<KavachReplaySummary> ReplayAsJobAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await KavachJob.RunAsync(Db.ConnectionString, s => s.ReplayUnprocessableAsync(Ct));
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested && attempt < 3)
            {
            }
        }
    }
}
