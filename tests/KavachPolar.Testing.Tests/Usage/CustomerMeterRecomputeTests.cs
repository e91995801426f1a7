using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Usage;

/// <summary>
/// Customer meters as Polar's <c>customer_meter.update_customer</c> task keeps them: recomputed by a debounced job
/// (15 s after the last queueing, or once the oldest waiting queueing is more than 180 minutes old), on the emulator's
/// clock; <c>customer.state_changed</c> when a row was recomputed.
/// </summary>
public sealed class CustomerMeterRecomputeTests
{
    private static async Task<(Harness H, EmulatorCustomer Customer)> StartAsync()
    {
        var h = await Harness.StartAsync(events: ["customer.state_changed"]);
        var customer = h.Emulator.CreateCustomer("jane.doe@gmail.com", externalId: "usr_1");
        // The customer's creation queues a recompute (it has an external id); let it run and settle.
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);
        return (h, customer);
    }

    [Fact]
    public async Task The_balance_moves_15_seconds_after_the_last_event_not_before()
    {
        var (h, customer) = await StartAsync();
        await using var _ = h;
        var before = h.Receiver.Received.Count;

        await h.IngestOkAsync(Usage.Summary("usr_1", 100), new JsonObject { ["name"] = "ai.summary", ["customer_id"] = customer.Id, ["metadata"] = new JsonObject { ["tokens"] = 20 } });
        await h.AdvanceAsync(TimeSpan.FromSeconds(14));
        var early = Assert.Single(await h.CustomerMetersAsync())!;
        await h.AdvanceAsync(TimeSpan.FromSeconds(2));
        var late = Assert.Single(await h.CustomerMetersAsync())!;
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);

        Assert.Equal(0.0, (double)early["consumed_units"]!);
        Assert.Equal(120.0, (double)late["consumed_units"]!);
        Assert.Equal(-120.0, (double)late["balance"]!);
        Assert.Equal(0, (int)late["credited_units"]!);
        Assert.Equal(PolarEmulator.DemoMeterId, (string?)late["meter_id"]);
        Assert.Equal(customer.Id, (string?)late["customer_id"]);
        // Python's JSON writes floats with their point.
        Assert.Contains("\"consumed_units\":120.0,\"credited_units\":0,\"balance\":-120.0", (await h.Http.GetAsync("v1/customer-meters/")).Body, StringComparison.Ordinal);
        var state = JsonNode.Parse(Assert.Single(h.Receiver.Received.Skip(before)).Body)!["data"]!;
        Assert.Equal(120.0, (double)state["active_meters"]![0]!["consumed_units"]!);
    }

    [Fact]
    public async Task Every_new_event_pushes_the_recompute_back_by_15_seconds()
    {
        var (h, _) = await StartAsync();
        await using var __ = h;

        await h.IngestOkAsync(Usage.Summary("usr_1", 1));
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        await h.IngestOkAsync(Usage.Summary("usr_1", 2));
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        var pushedBack = (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!;
        await h.AdvanceAsync(TimeSpan.FromSeconds(6));

        Assert.Equal(0.0, pushedBack);
        Assert.Equal(3.0, (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!);
    }

    [Fact]
    public async Task Continuous_ingestion_holds_the_recompute_back_at_most_180_minutes()
    {
        var (h, _) = await StartAsync();
        await using var __ = h;
        var start = h.Emulator.UtcNow;
        DateTimeOffset? firstMove = null;

        // An event every 14 s never leaves 15 s of quiet.
        for (var i = 0; h.Emulator.UtcNow - start < TimeSpan.FromMinutes(185); i++)
        {
            await h.IngestOkAsync(Usage.Summary("usr_1", 1));
            await h.AdvanceAsync(TimeSpan.FromSeconds(14));
            if (firstMove is null && (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]! > 0)
            {
                firstMove = h.Emulator.UtcNow;
            }
        }

        Assert.NotNull(firstMove);
        Assert.InRange(firstMove.Value - start, TimeSpan.FromMinutes(180), TimeSpan.FromMinutes(181));
    }

    [Fact]
    public async Task A_recompute_with_nothing_new_sends_no_state_changed()
    {
        var (h, _) = await StartAsync();
        await using var __ = h;
        await h.IngestOkAsync(Usage.Summary("usr_1", 5));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);
        var seen = h.Receiver.Received.Count;

        // An event no meter counts queues a recompute that finds no new event for the meter.
        await h.IngestOkAsync(new JsonObject { ["name"] = "page.view", ["external_customer_id"] = "usr_1" });
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);

        Assert.Equal(seen, h.Receiver.Received.Count);
        Assert.Equal(5.0, (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!);
    }

    [Fact]
    public async Task Events_sent_by_external_id_before_the_customer_exists_count_once_it_is_created()
    {
        await using var h = await Harness.StartAsync();
        await h.IngestOkAsync(Usage.Summary("usr_later", 40));
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(await h.CustomerMetersAsync());

        var customer = h.Emulator.CreateCustomer("later@gmail.com", externalId: "usr_later");
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        var row = Assert.Single(await h.CustomerMetersAsync())!;
        Assert.Equal(customer.Id, (string?)row["customer_id"]);
        Assert.Equal(40.0, (double)row["consumed_units"]!);
    }

    [Fact]
    public async Task Events_ingested_more_than_180_minutes_before_the_recompute_do_not_activate_the_row()
    {
        await using var h = await Harness.StartAsync();
        await h.IngestOkAsync(Usage.Summary("usr_old", 40));
        await h.AdvanceAsync(TimeSpan.FromHours(4));

        h.Emulator.CreateCustomer("old@gmail.com", externalId: "usr_old");
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        var stale = Assert.Single(await h.CustomerMetersAsync())!;
        await h.IngestOkAsync(Usage.Summary("usr_old", 2));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        // Polar's recompute only looks for a latest event ingested within its 180-minute window: the row is created
        // empty and stays so until a new matching event activates it, which then counts every event since the reset.
        Assert.Equal(0.0, (double)stale["consumed_units"]!);
        Assert.Equal(42.0, (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!);
    }

    [Fact]
    public async Task A_customers_first_recompute_lists_every_meter_with_zeros_and_a_later_matching_event_activates_it()
    {
        var (h, customer) = await StartAsync();
        await using var _ = h;

        var empty = Assert.Single(await h.CustomerMetersAsync())!;
        var state = (await h.Http.GetAsync($"v1/customers/{customer.Id}/state")).Json;
        await h.IngestOkAsync(Usage.Summary("usr_1", 9));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        Assert.Equal(0.0, (double)empty["consumed_units"]!);
        Assert.Null(empty["modified_at"]);
        Assert.Equal((string?)empty["id"], (string?)state["active_meters"]![0]!["id"]);
        Assert.Equal(9.0, (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!);
    }

    [Fact]
    public async Task A_child_event_waits_for_its_parent_before_it_counts()
    {
        var (h, _) = await StartAsync();
        await using var __ = h;
        var child = Usage.Summary("usr_1", 7, "child");
        child["parent_id"] = "parent";

        await h.IngestOkAsync(child);
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        var orphaned = (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!;
        await h.IngestOkAsync(Usage.Summary("usr_1", 1, "parent"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        Assert.Equal(0.0, orphaned);
        Assert.Equal(8.0, (double)(await h.CustomerMetersAsync())[0]!["consumed_units"]!);
    }

    [Fact]
    public async Task A_clock_that_moved_on_its_own_runs_the_due_recompute_before_a_read()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var h = await Harness.StartAsync(o => o.TimeProvider = clock);
        h.Emulator.CreateCustomer("jane.doe@gmail.com", externalId: "usr_1");
        await h.IngestOkAsync(Usage.Summary("usr_1", 3));

        clock.Advance(TimeSpan.FromSeconds(16));

        Assert.Equal(3.0, (double)Assert.Single(await h.CustomerMetersAsync())!["consumed_units"]!);
    }

    [Fact]
    public async Task Customer_meters_filter_by_customer_external_id_and_meter_and_need_their_scope()
    {
        var (h, customer) = await StartAsync();
        await using var _ = h;
        var other = h.Emulator.CreateCustomer("other@gmail.com", externalId: "usr_2");
        await h.IngestOkAsync(Usage.Summary("usr_2", 1));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        using var meterReader = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["meters:read"]));

        Assert.Equal(2, (await h.CustomerMetersAsync()).Count);
        Assert.Equal(customer.Id, (string?)Assert.Single(await h.CustomerMetersAsync($"?customer_id={customer.Id}"))!["customer_id"]);
        Assert.Equal(other.Id, (string?)Assert.Single(await h.CustomerMetersAsync("?external_customer_id=usr_2"))!["customer_id"]);
        Assert.Empty(await h.CustomerMetersAsync($"?meter_id={Guid.NewGuid()}"));
        var id = (string)(await h.CustomerMetersAsync("?external_customer_id=usr_2"))[0]!["id"]!;
        Assert.Equal(200, (await h.Http.GetAsync($"v1/customer-meters/{id}")).Status);
        Assert.Equal(404, (await h.Http.GetAsync($"v1/customer-meters/{Guid.NewGuid()}")).Status);
        Assert.Equal(422, (await h.Http.GetAsync("v1/customer-meters/?sorting=nope")).Status);
        Assert.Equal(403, (await meterReader.GetAsync("v1/customer-meters/")).Status);
    }

    [Fact]
    public async Task A_deleted_customers_rows_disappear_from_the_list()
    {
        var (h, customer) = await StartAsync();
        await using var _ = h;

        h.Emulator.DeleteCustomer(customer.Id);

        Assert.Empty(await h.CustomerMetersAsync());
    }
}
