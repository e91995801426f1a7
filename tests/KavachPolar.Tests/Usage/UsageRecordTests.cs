using System.Text.Json;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Usage;

/// <summary><see cref="IKavachPolarUsage.RecordAsync"/>: what it refuses, what it writes, and the host's transaction.</summary>
public sealed class UsageRecordTests : UsageTest
{
    [Fact]
    public async Task Recorded_events_reach_polar_once_each_by_external_customer_id_and_polars_totals_equal_what_was_recorded()
    {
        var ids = new List<string>();
        for (var i = 1; i <= 5; i++)
        {
            ids.Add(await RecordAsync("usage-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = i * 10, ["model"] = "small" }));
        }

        await UntilAtPolarAsync([.. ids]);
        await UntilDrainedAsync();
        var atPolar = Polar.IngestedEvents.Where(e => e.ExternalCustomerId == "usage-user").ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), atPolar.Select(e => e.ExternalId!).Order(StringComparer.Ordinal));
        Assert.Equal(150, atPolar.Sum(e => JsonDocument.Parse(e.Metadata).RootElement.GetProperty("tokens").GetInt32()));
        Assert.All(atPolar, e => Assert.Equal(PolarEmulatorDemo.Event, e.Name));
        Assert.Equal(5L, await RowsAsync("accepted_at_us IS NOT NULL"));
    }

    [Fact]
    public async Task The_same_external_id_recorded_twice_is_one_row_and_one_event_at_polar()
    {
        Assert.Equal("order-42", await RecordAsync("usage-user", "api.call", externalId: "order-42"));
        Assert.Equal("order-42", await RecordAsync("usage-user", "api.call", new Dictionary<string, object> { ["x"] = 1 }, externalId: "order-42"));
        var other = await RecordAsync("usage-user", "api.call");

        await UntilAtPolarAsync("order-42", other);
        Assert.Equal(1L, await RowsAsync("external_id = 'order-42'"));
        Assert.Single(Polar.IngestedEvents, e => e.ExternalId == "order-42");
        Assert.Equal("{}", Polar.IngestedEvents.Single(e => e.ExternalId == "order-42").Metadata);
    }

    public static TheoryData<string> Refusals => new()
    {
        "empty user", "long user", "empty name", "name over 128 characters", "name with NUL", "reserved _llm", "reserved _cost",
        "empty string value", "string value over 500 characters", "object value", "null value", "NaN", "infinity",
        "future timestamp", "empty external id", "external id over 256 characters", "too large",
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task What_polar_would_refuse_throws_ArgumentException_and_writes_nothing(string refusal)
    {
        var big = new Dictionary<string, object>();
        for (var i = 0; i < 22_000; i++)
        {
            big["k" + i] = new string('x', 500);
        }

        (string User, string Name, Dictionary<string, object>? Metadata, string? ExternalId, DateTimeOffset? Timestamp) input = refusal switch
        {
            "empty user" => ("", "e", null, null, null),
            "long user" => (new string('u', 257), "e", null, null, null),
            "empty name" => ("u", "", null, null, null),
            "name over 128 characters" => ("u", string.Concat(Enumerable.Repeat("\U0001F600", 129)), null, null, null),
            "name with NUL" => ("u", "a\0b", null, null, null),
            "reserved _llm" => ("u", "e", new Dictionary<string, object> { ["_llm"] = "gpt" }, null, null),
            "reserved _cost" => ("u", "e", new Dictionary<string, object> { ["_cost"] = 1 }, null, null),
            "empty string value" => ("u", "e", new Dictionary<string, object> { ["k"] = "" }, null, null),
            "string value over 500 characters" => ("u", "e", new Dictionary<string, object> { ["k"] = new string('x', 501) }, null, null),
            "object value" => ("u", "e", new Dictionary<string, object> { ["k"] = new[] { 1, 2 } }, null, null),
            "null value" => ("u", "e", new Dictionary<string, object> { ["k"] = null! }, null, null),
            "NaN" => ("u", "e", new Dictionary<string, object> { ["k"] = double.NaN }, null, null),
            "infinity" => ("u", "e", new Dictionary<string, object> { ["k"] = float.PositiveInfinity }, null, null),
            "future timestamp" => ("u", "e", null, null, DateTimeOffset.UtcNow.AddMinutes(5)),
            "empty external id" => ("u", "e", null, "", null),
            "external id over 256 characters" => ("u", "e", null, new string('x', 257), null),
            "too large" => ("u", "e", big, null, null),
            _ => throw new InvalidOperationException(refusal),
        };

        await Assert.ThrowsAnyAsync<ArgumentException>(() => RecordAsync(input.User, input.Name, input.Metadata, input.ExternalId, input.Timestamp));
        Assert.Equal(0L, await RowsAsync());
    }

    [Fact]
    public async Task What_polar_takes_at_its_limits_is_recorded()
    {
        // 128 characters as Python counts them (code points), 500-character strings, integers, floats and bools.
        var name = string.Concat(Enumerable.Repeat("\U0001F600", 128));
        var id = await RecordAsync("u", name, new Dictionary<string, object> { ["s"] = new string('x', 500), ["i"] = long.MaxValue, ["f"] = 0.5, ["b"] = true, ["m"] = 1.25m }, timestamp: DateTimeOffset.UtcNow.AddHours(-2));

        await UntilAtPolarAsync(id);
        var sent = JsonDocument.Parse(Polar.IngestedEvents.Single(e => e.ExternalId == id).Metadata).RootElement;
        Assert.Equal(long.MaxValue, sent.GetProperty("i").GetInt64());
        Assert.True(sent.GetProperty("b").GetBoolean());
        Assert.Equal(1.25m, sent.GetProperty("m").GetDecimal());
    }

    [Fact]
    public async Task An_event_recorded_in_a_host_transaction_that_rolls_back_is_never_sent_and_one_that_commits_is()
    {
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
            var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
            await using var tx = await db.Database.BeginTransactionAsync(Ct);
            await usage.RecordAsync("tx-user", "api.call", externalId: "rolled-back", cancellationToken: Ct);
            Assert.Equal(0L, await RowsAsync()); // not visible outside the host's transaction
            await tx.RollbackAsync(Ct);
        }

        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
            var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
            await using var tx = await db.Database.BeginTransactionAsync(Ct);
            db.KavachUsers.Add(new KavachUser { Id = "tx-user", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            await usage.RecordAsync("tx-user", "api.call", externalId: "committed", cancellationToken: Ct);
            Assert.Equal(EntityState.Added, db.ChangeTracker.Entries<KavachUser>().Single().State); // the host's pending work is its own
            await db.SaveChangesAsync(Ct);
            await tx.CommitAsync(Ct);
        }

        await UntilAtPolarAsync("committed");
        await UntilDrainedAsync();
        Assert.DoesNotContain(Polar.IngestedEvents, e => e.ExternalId == "rolled-back");
        Assert.Equal(0L, await RowsAsync("external_id = 'rolled-back'"));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users WHERE id = 'tx-user'", Ct));
    }
}

/// <summary>The emulator's demo meter, by the names its tests use.</summary>
internal static class PolarEmulatorDemo
{
    public const string Event = KavachPolar.Testing.PolarEmulator.DemoMeterEventName;

    public const string MeterId = KavachPolar.Testing.PolarEmulator.DemoMeterId;
}
