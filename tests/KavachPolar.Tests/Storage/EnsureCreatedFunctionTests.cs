using System.Net;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// <c>EnsureCreated</c> creates tables, never functions, so a host that creates KavachPolar's tables that way took the
/// general path for every webhook (about a sixth of the function path's rate on PostgreSQL, issue 26) with only warning
/// 4007 to say so. <c>Database.CreateKavachPolarFunctionsAsync()</c> after it installs the function the migrations
/// install; on other providers it does nothing.
/// </summary>
public sealed class EnsureCreatedFunctionTests : DatabaseTest
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task After_EnsureCreated_the_call_puts_webhooks_on_the_one_round_trip_function(bool createFunctions)
    {
        // The host's own start-up, before KavachPolar's first request: the tables, then (or not) the function.
        await using (var db = new KavachPolarDbContext(new DbContextOptionsBuilder<KavachPolarDbContext>().UseNpgsql(Db.ConnectionString).Options))
        {
            await db.Database.EnsureCreatedAsync(Ct);
            if (createFunctions)
            {
                await db.Database.CreateKavachPolarFunctionsAsync(Ct);
                await db.Database.CreateKavachPolarFunctionsAsync(Ct); // again, as every start of such a host does
            }
        }

        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { CreateSchema = false });
        var before = app.Logs.Collector.GetSnapshot().Count;
        // A cold general-path process can answer its first delivery 503 on a loaded machine; Polar sends it again with
        // the same webhook-id, and every attempt's commands count.
        var id = Guid.NewGuid().ToString();
        using (var response = await Retry503.SendAsync(() => app.PostWebhookAsync(Compact(Example("subscription.created.json")), id, ct: Ct), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var commands = app.Logs.Collector.GetSnapshot().Skip(before)
            .Where(r => r.Category == DbLoggerCategory.Database.Command.Name && r.Id.Id == RelationalEventId.CommandExecuted.Id)
            .Select(r => r.Message)
            .ToList();
        var warned = app.Logs.Collector.GetSnapshot().Any(r => r.Id.Id == 4007);

        if (createFunctions)
        {
            Assert.Contains(commands, c => c.Contains(WebhookFunction.Function, StringComparison.Ordinal));
            Assert.DoesNotContain(commands, c => c.Contains("pg_advisory_xact_lock", StringComparison.Ordinal));
            Assert.False(warned, "no warning 4007 once the function is there");
        }
        else
        {
            Assert.Contains(commands, c => c.Contains("pg_advisory_xact_lock", StringComparison.Ordinal));
            Assert.True(warned, "warning 4007 says the function is missing and how to add it");
        }

        // Either way the change is applied and its callback runs.
        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Count == 1), because: "the change's callback ran");
    }

    [Fact]
    public async Task On_sqlite_the_call_does_nothing()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(Ct);
        await using var db = new KavachPolarDbContext(new DbContextOptionsBuilder<KavachPolarDbContext>().UseSqlite(connection).Options);
        await db.Database.EnsureCreatedAsync(Ct);
        var objects = await CountObjectsAsync(connection);

        await db.Database.CreateKavachPolarFunctionsAsync(Ct);

        Assert.Equal(objects, await CountObjectsAsync(connection));
        Assert.Equal(0, await db.KavachUsers.CountAsync(Ct)); // the tables still answer
    }

    private static async Task<long> CountObjectsAsync(SqliteConnection connection)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master";
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
