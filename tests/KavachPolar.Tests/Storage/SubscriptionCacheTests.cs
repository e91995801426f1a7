using System.Data.Common;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
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
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 16, 48, 730, TimeSpan.Zero);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_change_on_one_instance_is_seen_by_its_own_reads_at_once_and_by_another_instances_within_a_second(bool fastPath)
    {
        var readsOnB = new QueryCounter();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString, fastPath: fastPath);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, createSchema: false, database: o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(readsOnB));
        using var onA = a.ClientFor("usr_1337");
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e21";
        await a.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);

        // B reads once from the database, then from memory.
        Assert.Equal("active", (string?)(await SubscriptionAsync(onB))!["status"]);
        var queries = readsOnB.Count;
        Assert.Equal("active", (string?)(await SubscriptionAsync(onB))!["status"]);
        Assert.Equal(queries, readsOnB.Count);

        // A change committed on A: A sees it at once, B within a second.
        await SubscriptionAsync(onA); // A's cache is warm too
        await a.PostWebhookAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        Assert.True((bool)(await SubscriptionAsync(onA))!["cancelAtPeriodEnd"]!);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            TimeSpan.FromSeconds(1),
            "instance B shows the change within 1 s",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task After_the_notification_connection_drops_the_cache_stops_serving_and_starts_empty_when_it_reconnects()
    {
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, createSchema: false);
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e22";
        await a.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);

        // Cut the listeners off, then change the subscription: B cannot hear about it.
        await Db.ScalarAsync<int>("SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND datname = current_database()", Ct);
        await a.PostWebhookAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);

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
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, createSchema: false, database: o => o.UseNpgsql(dataSource));
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e23";
        await a.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await Wait.UntilAsync(
            async () => await Db.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND usename = '{role}' AND datname = current_database()", Ct) == 1,
            because: "B's listener signs in with the password its data source provides");
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);

        await a.PostWebhookAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            TimeSpan.FromSeconds(1),
            "instance B shows the change within 1 s",
            interval: TimeSpan.FromMilliseconds(20));

        Assert.DoesNotContain(b.Logs.Lines, l => l.Contains("[3003]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_empty_announcement_makes_an_instance_forget_everyone_it_cached()
    {
        var readsOnB = new QueryCounter();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString);
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, createSchema: false, database: o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(readsOnB));
        using var onB = b.ClientFor("usr_1337");
        await a.PostWebhookAsync(Compact(Subscription("subscription.created", "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e24", createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        await SubscriptionAsync(onB);
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
            TimeSpan.FromSeconds(1),
            "instance B reads the user from the database again within 1 s",
            interval: TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task An_announcement_the_database_refuses_is_sent_again_and_arrives()
    {
        var refusals = new RefuseAnnouncements();
        await using var a = await KavachTestApp.StartAsync(Db.ConnectionString, database: o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(refusals));
        await using var b = await KavachTestApp.StartAsync(Db.ConnectionString, createSchema: false);
        using var onB = b.ClientFor("usr_1337");
        const string subscriptionId = "e8b2c6b4-1b9e-4a4e-9b0c-3f5d2a7c9e25";
        await a.PostWebhookAsync(Compact(Subscription("subscription.created", subscriptionId, createdAt: T0)), ct: Ct);
        await WaitUntilListeningAsync(b);
        Assert.False((bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!);

        // The only announcement of this change is refused twice: B learns of it only if A sends it again.
        refusals.RefuseNext(2);
        await a.PostWebhookAsync(Compact(Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true)), ct: Ct);
        await Wait.UntilAsync(
            async () => (bool)(await SubscriptionAsync(onB))!["cancelAtPeriodEnd"]!,
            TimeSpan.FromSeconds(10),
            "instance B shows the change once A's announcement goes through (its cache would keep the old state for 30 s)");
        Assert.Equal(0, refusals.Remaining);
        Assert.Contains(a.Logs.Lines, l => l.Contains("[3004]", StringComparison.Ordinal));
    }

    private async Task WaitUntilListeningAsync(KavachTestApp app)
    {
        _ = app;
        await Wait.UntilAsync(async () => await ListenersAsync() >= 1, because: "the cache listener connects");
    }

    private Task<long> ListenersAsync() =>
        Db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'KavachPolar cache listener' AND datname = current_database() AND state IS NOT NULL", Ct);

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];

    /// <summary>A host interceptor under which the database refuses the next announcements, as many as it is told.</summary>
    private sealed class RefuseAnnouncements : DbCommandInterceptor
    {
        private int _remaining;

        public int Remaining => Volatile.Read(ref _remaining);

        public void RefuseNext(int times) => Volatile.Write(ref _remaining, times);

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("pg_notify", StringComparison.Ordinal))
            {
                for (var left = Remaining; left > 0; left = Remaining)
                {
                    if (Interlocked.CompareExchange(ref _remaining, left - 1, left) == left)
                    {
                        throw new InvalidOperationException("refused by the test's interceptor");
                    }
                }
            }

            return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    /// <summary>Counts the queries an instance sends (a host's own interceptor could do the same).</summary>
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
}
