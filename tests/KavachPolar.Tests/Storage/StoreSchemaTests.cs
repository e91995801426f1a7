using System.Net;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

public sealed class StoreSchemaTests : DatabaseTest
{
    [Fact]
    public async Task The_shipped_migrations_create_the_documented_schema_and_match_the_model()
    {
        var options = new DbContextOptionsBuilder<KavachPolarDbContext>().UseNpgsql(Db.ConnectionString).Options;
        await using (var context = new KavachPolarDbContext(options))
        {
            await context.Database.MigrateAsync(Ct);
            Assert.False(context.Database.HasPendingModelChanges(), "The model changed: regenerate the migrations (see docs/architecture.md).");
        }

        var columns = (await Db.QueryAsync("SELECT column_name FROM information_schema.columns WHERE table_name = 'kavach_users' ORDER BY column_name", Ct))
            .Select(r => (string)r["column_name"]!).ToArray();
        Assert.Equal(
            new[] { "created_at", "email", "id", "name", "polar_cancel_at_period_end", "polar_current_period_end", "polar_customer_id", "polar_product_id", "polar_scheduled_change_at", "polar_scheduled_product_id", "polar_subscription_id", "polar_subscription_status", "updated_at" },
            columns);
        Assert.Equal("timestamp with time zone", await Db.ScalarAsync<string>("SELECT data_type FROM information_schema.columns WHERE table_name = 'kavach_users' AND column_name = 'polar_current_period_end'", Ct));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_indexes WHERE tablename = 'kavach_users' AND indexdef LIKE 'CREATE UNIQUE INDEX%polar_customer_id%'", Ct));
        Assert.True(await Db.ScalarAsync<bool>("SELECT to_regproc('kavach_polar_apply_subscription') IS NOT NULL", Ct), "the migrations install the webhook's one-round-trip function");

        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        var response = await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("active", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users", Ct));
    }

    [Fact]
    public async Task The_webhook_function_announces_nothing_inside_its_transaction_after_AnnounceAfterCommit_and_did_before_it()
    {
        var options = new DbContextOptionsBuilder<KavachPolarDbContext>().UseNpgsql(Db.ConnectionString).Options;
        await using var context = new KavachPolarDbContext(options);
        var migrator = context.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>();
        const string notifies = "SELECT prosrc LIKE '%pg_notify%' FROM pg_proc WHERE proname = 'kavach_polar_apply_subscription'";

        await migrator.MigrateAsync("20261129211126_FastWebhookPath", Ct);
        Assert.True(await Db.ScalarAsync<bool>(notifies, Ct), "the FastWebhookPath migration shipped the function with its NOTIFY");
        await migrator.MigrateAsync(cancellationToken: Ct);
        Assert.False(await Db.ScalarAsync<bool>(notifies, Ct), "AnnounceAfterCommit takes the NOTIFY out");
        await migrator.MigrateAsync("20261129211126_FastWebhookPath", Ct);
        Assert.True(await Db.ScalarAsync<bool>(notifies, Ct), "AnnounceAfterCommit's Down puts it back");
        await migrator.MigrateAsync("20261129203405_ForgottenUsers", Ct);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_proc WHERE proname = 'kavach_polar_apply_subscription'", Ct));
    }

    [Fact]
    public async Task The_webhook_function_migrations_pin_the_search_path_and_mark_the_version_and_each_Down_puts_back_the_earlier_function()
    {
        var options = new DbContextOptionsBuilder<KavachPolarDbContext>().UseNpgsql(Db.ConnectionString).Options;
        await using var context = new KavachPolarDbContext(options);
        var migrator = context.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>();
        const string settings = "SELECT coalesce(array_to_string(proconfig, ';'), '') FROM pg_proc WHERE proname = 'kavach_polar_apply_subscription'";
        const string mark = "SELECT coalesce(obj_description(oid, 'pg_proc'), '') FROM pg_proc WHERE proname = 'kavach_polar_apply_subscription'";

        await migrator.MigrateAsync("20261207020000_PinnedWebhookFunction", Ct);
        Assert.Equal("search_path=public, pg_temp", await Db.ScalarAsync<string>(settings, Ct));
        Assert.Equal(KavachPolar.Storage.Migrations.PinnedWebhookFunction.Version, await Db.ScalarAsync<string>(mark, Ct));

        // The latest function (BenefitGrants) replaces it, pinned and marked alike; its Down puts version 4 back, and
        // ScheduledPlanChange's Down version 3.
        await migrator.MigrateAsync(cancellationToken: Ct);
        Assert.Equal("search_path=public, pg_temp", await Db.ScalarAsync<string>(settings, Ct));
        Assert.Equal(WebhookFunction.Version, await Db.ScalarAsync<string>(mark, Ct));
        Assert.NotEqual(KavachPolar.Storage.Migrations.PinnedWebhookFunction.Version, WebhookFunction.Version);
        await migrator.MigrateAsync("20261207045000_ScheduledPlanChange", Ct);
        Assert.Equal(KavachPolar.Storage.Migrations.ScheduledPlanChange.Version, await Db.ScalarAsync<string>(mark, Ct));
        Assert.Equal("search_path=public, pg_temp", await Db.ScalarAsync<string>(settings, Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'kavach_polar_benefit_grants'", Ct));
        await migrator.MigrateAsync("20261207024902_HandledKinds", Ct);
        Assert.Equal(KavachPolar.Storage.Migrations.PinnedWebhookFunction.Version, await Db.ScalarAsync<string>(mark, Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE column_name LIKE '%scheduled%'", Ct));

        await migrator.MigrateAsync("20261130011500_AnnounceAfterCommit", Ct);
        Assert.Equal("", await Db.ScalarAsync<string>(settings, Ct));
        Assert.Equal("", await Db.ScalarAsync<string>(mark, Ct));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM pg_proc WHERE proname = 'kavach_polar_apply_subscription'", Ct));
    }

    [Fact]
    public async Task A_host_dbcontext_can_own_the_tables()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Services = s =>
            {
                s.AddDbContext<HostDbContext>(o => o.UseNpgsql(Db.ConnectionString));
                s.AddKavachPolar().AddEntityFrameworkStore<HostDbContext>();
            },
        });

        var response = await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        await using var scope = app.Services.CreateAsyncScope();
        var host = scope.ServiceProvider.GetRequiredService<HostDbContext>();
        var user = await host.Set<KavachUser>().SingleAsync(Ct);
        Assert.Equal(ExampleExternalId, user.Id);
        Assert.Equal("active", user.PolarSubscriptionStatus);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM app_notes", Ct)); // the host's own table lives beside ours
    }

    [Fact]
    public async Task A_host_dbcontext_is_told_it_lacks_the_webhook_function_and_gets_it_from_CreateKavachPolarFunctions()
    {
        void HostContext(IServiceCollection s)
        {
            s.AddDbContext<HostDbContext>(o => o.UseNpgsql(Db.ConnectionString));
            s.AddKavachPolar().AddEntityFrameworkStore<HostDbContext>();
        }

        // Tables from the host's model, no function: correct, on the general path, and the log says what to do.
        await using (var without = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Services = HostContext, FastPath = false }))
        {
            // A cold general-path process can answer its first delivery 503 on a loaded machine (the 5 s budget while
            // its queries compile); Polar sends it again with the same webhook-id.
            var created = Guid.NewGuid().ToString();
            using (var first = await Retry503.SendAsync(() => without.PostWebhookAsync(Compact(Example("subscription.created.json")), created, ct: Ct), Ct))
            {
                Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            }

            Assert.False(without.Services.GetRequiredService<DirectPostgres>().Current()!.HasFunction);
            Assert.Single(without.Logs.Lines, l => l.Contains("[4007]", StringComparison.Ordinal) && l.Contains("CreateKavachPolarFunctions", StringComparison.Ordinal));
        }

        // What a migration of the host's DbContext does with it.
        var migration = new MigrationBuilder("Npgsql.EntityFrameworkCore.PostgreSQL");
        migration.CreateKavachPolarFunctions();
        foreach (var operation in migration.Operations.OfType<SqlOperation>())
        {
            await Db.QueryAsync(operation.Sql, Ct);
        }

        await using var with = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Services = HostContext, CreateSchema = false });
        var update = Subscription("subscription.updated", ExampleSubscriptionId, modifiedAt: new DateTimeOffset(2026, 10, 2, 9, 16, 48, TimeSpan.Zero), cancelAtPeriodEnd: true);
        var updated = Guid.NewGuid().ToString();
        using var response = await Retry503.SendAsync(() => with.PostWebhookAsync(Compact(update), updated, ct: Ct), Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True(with.Services.GetRequiredService<DirectPostgres>().Current()!.HasFunction);
        Assert.True(await Db.ScalarAsync<bool>("SELECT polar_cancel_at_period_end FROM kavach_users", Ct));
        Assert.DoesNotContain(with.Logs.Lines, l => l.Contains("[4007]", StringComparison.Ordinal));

        var other = new MigrationBuilder("Microsoft.EntityFrameworkCore.Sqlite");
        Assert.Empty(other.CreateKavachPolarFunctions().DropKavachPolarFunctions().Operations);
    }

    [Fact]
    public async Task A_host_dbcontext_with_a_schema_of_its_own_gets_webhooks_reads_and_callbacks_there()
    {
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:ReadCacheExpiry"] = "00:00:00" },
                Services = s =>
                {
                    s.AddDbContext<BillingSchemaDbContext>(o => o.UseNpgsql(Db.ConnectionString));
                    s.AddKavachPolar().AddEntityFrameworkStore<BillingSchemaDbContext>();
                },
                FastPath = false,
            });
        using var client = app.ClientFor(ExampleExternalId);

        for (var i = 0; i < 3; i++)
        {
            // The first unit of work learns where the tables are; the next ones must not look for them in public.
            // A 503 at the database budget on a starved machine is Polar's cue to retry, as it would.
            var response = await Retry503.SendAsync(() => app.PostWebhookAsync(Compact(Subscription("subscription.updated", "sub-billing-1", createdAt: new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero), modifiedAt: new DateTimeOffset(2026, 10, 1 + i, 0, 0, 0, TimeSpan.Zero), cancelAtPeriodEnd: i % 2 == 1)), ct: Ct), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"webhook {i}: {(int)response.StatusCode}\n" + string.Join('\n', app.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal))));
            var read = await client.GetAsync("api/kavach/auth/polar/subscription", Ct);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"read {i}: {(int)read.StatusCode}\n" + string.Join('\n', app.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal))));
            Assert.Contains($"\"cancelAtPeriodEnd\":{(i % 2 == 1 ? "true" : "false")}", await read.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM billing.kavach_users", Ct));
        await KavachTestApp.EventuallyAsync(() => app.Changes.Count == 3, TimeSpan.FromSeconds(10), "the dispatcher runs the callbacks from billing.kavach_polar_callbacks");
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("[3002]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_store_works_on_sqlite_for_the_embedded_default()
    {
        var file = Path.Combine(Path.GetTempPath(), "kavach-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var app = await KavachTestApp.StartAsync("", new() { Database = o => o.UseSqlite($"Data Source={file}") });
            // Delivered as Polar does (5xx retried): a cold SQLite store on a loaded machine can outlast the 5 s budget once.
            var first = await app.DeliverAsync(Compact(Example("subscription.created.json")), "b0000000-0000-4000-8000-000000000001", ct: Ct);
            var again = await app.DeliverAsync(Compact(Example("subscription.created.json")), "b0000000-0000-4000-8000-000000000001", ct: Ct);
            var revoked = await app.DeliverAsync(Compact(Example("subscription.revoked.json")), ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Contains("duplicate", await again.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Accepted, revoked.StatusCode);
            await KavachTestApp.EventuallyAsync(() => app.Changes.Count == 2);

            var user = await app.WithDbAsync(c => c.KavachUsers.SingleAsync(Ct));
            Assert.Null(user.PolarSubscriptionId);
            Assert.Equal("canceled", user.PolarSubscriptionStatus);

            // Two granted grants of one benefit (say, a lifetime deal and a gift), then the reads the gate and the routes make.
            foreach (var grantId in new[] { "c1000000-0000-4000-8000-000000000001", "c1000000-0000-4000-8000-000000000002" })
            {
                var grant = $$"""
                    {"type":"benefit_grant.created","timestamp":"{{DateTimeOffset.UtcNow:O}}","data":{"id":"{{grantId}}","created_at":"2026-12-01T10:00:00Z",
                    "modified_at":null,"granted_at":"2026-12-01T10:00:00Z","is_granted":true,"revoked_at":null,"is_revoked":false,"subscription_id":null,
                    "order_id":null,"customer_id":"{{user.PolarCustomerId}}","member_id":null,"benefit_id":"b1000000-0000-4000-8000-000000000001","error":null,
                    "customer":{"id":"{{user.PolarCustomerId}}","external_id":"{{ExampleExternalId}}"},
                    "benefit":{"id":"b1000000-0000-4000-8000-000000000001","type":"feature_flag","description":"Beta features"},"properties":{} } }
                    """;
                Assert.Equal(HttpStatusCode.Accepted, (await app.DeliverAsync(System.Text.Encoding.UTF8.GetBytes(grant), ct: Ct)).StatusCode);
            }

            using var client = app.ClientFor(ExampleExternalId);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/kavach/auth/polar/subscription", Ct)).StatusCode);
            var benefits = await client.GetStringAsync("api/kavach/auth/polar/benefits", Ct);
            var held = System.Text.Json.Nodes.JsonNode.Parse(benefits)!["benefits"]!.AsArray();
            Assert.Equal(2, Assert.Single(held)!["grants"]!.AsArray().Count);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    public sealed class HostDbContext(DbContextOptions<HostDbContext> options) : DbContext(options)
    {
        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.Entity<AppNote>().ToTable("app_notes");
            modelBuilder.ApplyKavachPolarModel();
        }
    }

    public sealed class BillingSchemaDbContext(DbContextOptions<BillingSchemaDbContext> options) : DbContext(options)
    {
        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.HasDefaultSchema("billing");
            modelBuilder.ApplyKavachPolarModel();
        }
    }

    public sealed class AppNote
    {
        public int Id { get; set; }

        public string Text { get; set; } = "";
    }
}
