using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// On the general path (no webhook function) a delivery's transaction holds its customer's lock from its first command
/// to its commit, so every command in between sets the pace of that customer's deliveries and, on a loaded host, of the
/// connection pool (issue 26: PostgreSQL's backends were idle in transaction, waiting for the app, in ~90% of samples).
/// A real change to a user already bound to its customer takes at most seven commands: the customer lock, the stored
/// snapshot with the delivery check in one query, the user lock, the user with their subscriptions and the customer's
/// orphans in one query, the grants and orders that follow them, and one batched save (nine before, issue 26).
/// </summary>
public sealed class GeneralPathRoundTripsTests : DatabaseTest
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 16, 48, 730, TimeSpan.Zero);

    [Fact]
    public async Task A_change_to_a_bound_user_takes_seven_commands_with_the_customer_locked()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { FastPath = false });

        // The first delivery into a cold process can outlast the 5 s database budget on a loaded machine (the general
        // path's EF Core queries are compiled and its code is still tier-0 JIT): 503, and Polar sends it again with the
        // same webhook-id. It only seeds the subscription; the delivery counted below runs warm.
        var seedId = Guid.NewGuid().ToString();
        using (var seeded = await Retry503.SendAsync(() => app.PostWebhookAsync(Compact(Subscription("subscription.created", "sub-trips", createdAt: T0)), seedId, ct: Ct), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, seeded.StatusCode);
        }

        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Count == 1), because: "the first change's callback ran");
        await Wait.ForOutboxToDrainAsync(Db, Ct);

        var before = app.Logs.Collector.GetSnapshot().Count;
        await PostAsync(app, Subscription("subscription.updated", "sub-trips", createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true));
        var commands = app.Logs.Collector.GetSnapshot().Skip(before)
            .Where(r => r.Category == DbLoggerCategory.Database.Command.Name && r.Id.Id == RelationalEventId.CommandExecuted.Id)
            .Select(r => r.Message)
            .Where(OfTheDelivery)
            .ToList();

        Assert.Contains(commands, c => c.Contains("pg_advisory_xact_lock", StringComparison.Ordinal)); // the general path ran
        Assert.True(commands.Count <= 7, $"{commands.Count} commands:\n" + string.Join("\n---\n", commands));

        // The change is whole: the user sees it and its callback runs.
        using var client = app.ClientFor(ExampleExternalId);
        var subscription = (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!;
        Assert.True((bool)subscription["cancelAtPeriodEnd"]!);
        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Count == 2), because: "the second change's callback ran");
    }

    /// <summary>
    /// Not the background services' commands (the dispatcher's claim and settle, the declaration of handled kinds, the
    /// usage queue), which run beside the delivery; the delivery's own save inserts its callback row beside its record.
    /// </summary>
    private static bool OfTheDelivery(string command) =>
        !command.Contains("kavach_polar_handled_kinds", StringComparison.Ordinal)
        && !command.Contains("kavach_polar_usage", StringComparison.Ordinal)
        && (!command.Contains("kavach_polar_callbacks", StringComparison.Ordinal) || command.Contains("kavach_polar_webhook_events", StringComparison.Ordinal));

    private static async Task PostAsync(KavachTestApp app, JsonObject body)
    {
        using var response = await app.PostWebhookAsync(Compact(body), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
    }
}
