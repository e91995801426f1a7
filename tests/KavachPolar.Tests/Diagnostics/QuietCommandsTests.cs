using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Diagnostics;

/// <summary>
/// KavachPolar's own DbContext logs the commands it runs at Debug, not at EF Core's Information (issue 26): a host at
/// <c>dotnet new web</c>'s default levels wrote a console line per command, on the general path about ten per delivery
/// while the delivery's transaction held its customer's lock. Nothing is taken away: at Debug every command is still
/// logged.
/// </summary>
public sealed class QuietCommandsTests : DatabaseTest
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 16, 48, 730, TimeSpan.Zero);

    [Theory]
    [InlineData(false)] // general path: every statement of the delivery goes through EF Core
    [InlineData(true)] // the webhook function: the dispatcher's claim and settle go through EF Core
    public async Task Deliveries_and_their_callbacks_log_nothing_at_default_levels_and_every_command_at_Debug(bool fastPath)
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = fastPath });

        // A first delivery warms the process up: into a cold general-path process it can outlast the 5 s database
        // budget on a loaded machine (503, logged as an error, and Polar sends it again with the same webhook-id). What
        // is counted below is what a running host logs.
        var warmId = Guid.NewGuid().ToString();
        using (var warm = await Retry503.SendAsync(() => app.PostWebhookAsync(Compact(Subscription("subscription.created", "sub-warm-" + fastPath, externalId: "warm-user", customerId: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d99", createdAt: T0, email: "warm.user@gmail.com")), warmId, ct: Ct), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, warm.StatusCode);
        }

        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Count == 1), because: "the warm-up change's callback ran");
        var before = app.Logs.Collector.GetSnapshot().Count;

        for (var day = 0; day < 3; day++)
        {
            var type = day == 0 ? "subscription.created" : "subscription.updated";
            var body = Subscription(type, "sub-quiet-" + fastPath, createdAt: T0, modifiedAt: day == 0 ? null : T0.AddDays(day), cancelAtPeriodEnd: day % 2 == 1);
            using var response = await app.PostWebhookAsync(Compact(body), ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        }

        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Count == 4), because: "the three changes' callbacks ran");
        await Wait.ForOutboxToDrainAsync(Db, Ct);

        var records = app.Logs.Collector.GetSnapshot().Skip(before).ToList();
        // Not the one warning a host without the webhook function is meant to see (4007, once).
        var loud = records.Where(r => AtDefaultLevels(r) && r.Id.Id != 4007).Select(Format).ToList();
        Assert.True(loud.Count == 0, $"{loud.Count} lines at dotnet new web's default levels, the first:\n" + string.Join('\n', loud.Take(5)));

        var commands = records.Where(r => r.Category == DbLoggerCategory.Database.Command.Name && r.Id.Id == RelationalEventId.CommandExecuted.Id).ToList();
        Assert.NotEmpty(commands);
        Assert.All(commands, r => Assert.Equal(LogLevel.Debug, r.Level));
        if (!fastPath)
        {
            Assert.Contains(commands, r => r.Message.Contains("pg_advisory_xact_lock", StringComparison.Ordinal));
        }

        Assert.Contains(commands, r => r.Message.Contains("kavach_polar_callbacks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_host_context_of_its_own_keeps_EF_Cores_level_for_its_commands()
    {
        // The lowered level belongs to KavachPolarDbContext only: a host's own context (here one that is not
        // KavachPolar's, on the same database) logs its commands at EF Core's Information as before.
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Services = s => s.AddDbContext<HostContext>(o => o.UseNpgsql(Db.ConnectionString)),
            });
        var before = app.Logs.Collector.GetSnapshot().Count;

        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HostContext>();
            await db.Database.ExecuteSqlRawAsync("SELECT 1", Ct);
        }

        var commands = app.Logs.Collector.GetSnapshot().Skip(before)
            .Where(r => r.Category == DbLoggerCategory.Database.Command.Name && r.Id.Id == RelationalEventId.CommandExecuted.Id)
            .Where(r => r.Message.Contains("SELECT 1", StringComparison.Ordinal))
            .ToList();
        var command = Assert.Single(commands);
        Assert.Equal(LogLevel.Information, command.Level);
    }

    /// <summary>A context of the host's that has nothing to do with KavachPolar.</summary>
    private sealed class HostContext(DbContextOptions<HostContext> options) : DbContext(options);

    /// <summary>What <c>dotnet new web</c>'s appsettings.json logs: Information and up, Microsoft.AspNetCore from Warning.</summary>
    private static bool AtDefaultLevels(FakeLogRecord record) =>
        record.Level >= (record.Category?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true ? LogLevel.Warning : LogLevel.Information);

    private static string Format(FakeLogRecord r) => $"{r.Level} {r.Category}[{r.Id.Id}] {r.Message}";
}
