using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// On PostgreSQL the hot paths (the webhook's one-statement function, uncached reads) run their one command on a raw
/// connection cloned from the host DbContext's, not through EF Core; a host's EF Core interceptors still see every
/// command; and a function dropped after it was learnt sends deliveries down the general path, applied all the same.
/// </summary>
public sealed class DirectPostgresTests : DatabaseTest
{
    private static readonly Dictionary<string, string?> NoReadCache = new() { ["KavachPolar:ReadCacheExpiry"] = "00:00:00" };

    [Fact]
    public async Task Webhooks_and_uncached_reads_run_their_command_outside_EF_Core()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = NoReadCache });
        using var client = app.ClientFor("usr_1337");

        await ApplyThreeSnapshotsAsync(app, client, "sub-direct-1");

        var all = EfCommands(app);
        Assert.Contains(all, c => c.Contains("CREATE TABLE", StringComparison.Ordinal)); // EF Core's command log works
        var commands = all.Where(c => !c.Contains("CREATE ", StringComparison.Ordinal)).ToList(); // not the schema's creation
        Assert.DoesNotContain(commands, c => c.Contains("FROM " + WebhookFunction.Function, StringComparison.Ordinal));
        var reads = commands.Where(c => c.Contains("FROM kavach_users", StringComparison.Ordinal)).ToList();
        Assert.True(reads.Count == 0, string.Join("\n---\n", reads));
    }

    [Fact]
    public async Task A_host_with_EF_Core_command_interceptors_sees_every_KavachPolar_command()
    {
        var seen = new CommandRecorder();
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = NoReadCache,
                Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(seen),
            });
        using var client = app.ClientFor("usr_1337");

        await ApplyThreeSnapshotsAsync(app, client, "sub-direct-2");

        Assert.Equal(3, seen.Count(c => c.Contains("FROM " + WebhookFunction.Function, StringComparison.Ordinal)));
        Assert.True(seen.Count(c => c.Contains("kavach_users", StringComparison.Ordinal) && c.StartsWith("SELECT", StringComparison.Ordinal)) >= 3);
    }

    [Fact]
    public async Task A_function_dropped_after_it_was_learnt_sends_deliveries_down_the_general_path()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = NoReadCache });
        using var client = app.ClientFor("usr_1337");
        const string subscriptionId = "sub-direct-3";
        await PostAsync(app, Subscription("subscription.created", subscriptionId, createdAt: T0));
        Assert.False((bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!);

        await Db.QueryAsync(WebhookFunction.DropSql, Ct);

        for (var day = 1; day <= 2; day++)
        {
            await PostAsync(app, Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(day), cancelAtPeriodEnd: day == 1));
            Assert.Equal(day == 1, (bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!);
        }

        Assert.Equal(3L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE outcome = 'applied'", Ct));
    }

    [Fact]
    public async Task A_function_installed_after_start_up_is_used_after_the_next_refresh_and_a_failed_refresh_is_retried()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var probes = new RefuseProbes();
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Settings = NoReadCache,
                FastPath = false,
                Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(probes),
                Services = s => s.AddSingleton<TimeProvider>(clock),
            });
        var direct = app.Services.GetRequiredService<DirectPostgres>();
        const string subscriptionId = "sub-direct-4";
        await PostAsync(app, Subscription("subscription.created", subscriptionId, createdAt: T0));
        Assert.False(direct.Current()!.HasFunction);

        // The database is migrated while the app runs; the refresh a minute later fails once.
        await Db.QueryAsync(WebhookFunction.CreateSql, Ct);
        probes.RefuseNext = true;
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.False(direct.Current()!.HasFunction); // starts the refresh in the background
        await Wait.UntilAsync(() => Task.FromResult(app.Logs.Lines.Any(l => l.Contains("[4006]", StringComparison.Ordinal))), because: "the failed refresh is logged");
        Assert.False(direct.Current()!.HasFunction); // the last answer keeps serving

        clock.Advance(TimeSpan.FromSeconds(6));
        await Wait.UntilAsync(() => Task.FromResult(direct.Current()!.HasFunction), because: "the refresh 5 s after the failure finds the function");
        await PostAsync(app, Subscription("subscription.updated", subscriptionId, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true));
        Assert.Contains(EfCommands(app), c => c.Contains("FROM " + WebhookFunction.Function, StringComparison.Ordinal)); // through EF Core: the host has interceptors
    }

    [Fact]
    public async Task A_webhook_function_of_an_earlier_version_is_not_called_and_the_log_says_so()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = NoReadCache, FastPath = false });
        var direct = app.Services.GetRequiredService<DirectPostgres>();
        Assert.Null(direct.Current());

        // What a database migrated by an earlier KavachPolar holds: the function as AnnounceAfterCommit shipped it.
        await Db.QueryAsync(KavachPolar.Storage.Migrations.AnnounceAfterCommit.FunctionSql, Ct);
        using var client = app.ClientFor("usr_1337");
        await ApplyThreeSnapshotsAsync(app, client, "sub-direct-5");

        Assert.False(direct.Current()!.HasFunction);
        var warning = Assert.Single(app.Logs.Lines, l => l.Contains("[4007]", StringComparison.Ordinal));
        Assert.Contains("an earlier version", warning, StringComparison.Ordinal);
        Assert.Contains("CreateKavachPolarFunctions", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_webhook_function_writes_the_tables_beside_it_whatever_the_caller_search_path_names_first()
    {
        // The host's connections look in "shadow" first; the function and the tables are in public.
        var shadowFirst = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { SearchPath = "shadow,public" }.ConnectionString;
        await using var app = await KavachTestApp.StartAsync(shadowFirst, new() { Settings = NoReadCache });
        await Db.QueryAsync("CREATE SCHEMA shadow; CREATE TABLE shadow.kavach_polar_webhook_events (LIKE public.kavach_polar_webhook_events INCLUDING ALL)", Ct);

        await PostAsync(app, Subscription("subscription.created", "sub-direct-6", createdAt: T0));

        Assert.True(app.Services.GetRequiredService<DirectPostgres>().Current()!.HasFunction);
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM public.kavach_polar_webhook_events", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM shadow.kavach_polar_webhook_events", Ct));
    }

    /// <summary>A host interceptor under which the database refuses KavachPolar's next question about the function.</summary>
    private sealed class RefuseProbes : DbCommandInterceptor
    {
        public volatile bool RefuseNext;

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("to_regprocedure", StringComparison.Ordinal) && RefuseNext)
            {
                RefuseNext = false;
                throw new InvalidOperationException("refused by the test's interceptor");
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    private static async Task ApplyThreeSnapshotsAsync(KavachTestApp app, HttpClient client, string subscriptionId)
    {
        for (var day = 0; day < 3; day++)
        {
            var type = day == 0 ? "subscription.created" : "subscription.updated";
            await PostAsync(app, Subscription(type, subscriptionId, createdAt: T0, modifiedAt: day == 0 ? null : T0.AddDays(day), cancelAtPeriodEnd: day % 2 == 1));
            Assert.Equal(day % 2 == 1, (bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!);
        }
    }

    /// <summary>
    /// Sends again what answers 503, with the same webhook-id, as Polar does: a cold process on a loaded machine can
    /// pass the 5 s budget on its first general-path delivery. An attempt that committed before its answer was lost
    /// makes the resend a duplicate, which is applied all the same.
    /// </summary>
    private static async Task PostAsync(KavachTestApp app, JsonObject body)
    {
        var id = Guid.NewGuid().ToString();
        var (response, resent) = await Retry503.SendCountingAsync(() => app.PostWebhookAsync(Compact(body), id, ct: Ct), Ct);
        using var _ = response;
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var outcome = (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"];
        Assert.True(outcome == "applied" || (resent && outcome == "duplicate"), $"outcome {outcome}, resent after a 503: {resent}");
    }

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];

    /// <summary>The commands EF Core logged as executed for this host.</summary>
    private static List<string> EfCommands(KavachTestApp app) =>
        [.. app.Logs.Collector.GetSnapshot()
            .Where(r => r.Category == DbLoggerCategory.Database.Command.Name && r.Id.Id == RelationalEventId.CommandExecuted.Id)
            .Select(r => r.Message)];

    private sealed class CommandRecorder : DbCommandInterceptor
    {
        private readonly List<string> _commands = [];

        public int Count(Func<string, bool> match)
        {
            lock (_commands)
            {
                return _commands.Count(match);
            }
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            lock (_commands)
            {
                _commands.Add(command.CommandText.TrimStart());
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
