using KavachPolar.Usage;

namespace KavachPolar.Tests.Usage;

/// <summary>
/// <see cref="IKavachPolarUsage.GetMeterAsync"/> against the emulator's customer meters: Polar's figures, what this app
/// recorded that Polar does not count yet, zero for a known customer without a row, null for a user without one.
/// </summary>
public sealed class MeterReadTests : UsageTest
{
    private Task<KavachMeter?> MeterAsync(string user, string meter = PolarEmulatorDemo.MeterId) =>
        WithUsageAsync(u => u.GetMeterAsync(user, meter, Ct));

    [Fact]
    public async Task Events_polar_has_not_accepted_are_pending_and_evaluated_with_the_meters_filter_and_sum()
    {
        Polar.CreateCustomer("meter.user@gmail.com", externalId: "meter-user");
        Polar.InjectFault(HttpMethod.Post, "/v1/events/ingest", 500, count: 1000);
        await RecordAsync("meter-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 10 });
        await RecordAsync("meter-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 32 });
        await RecordAsync("meter-user", "other.event", new Dictionary<string, object> { ["tokens"] = 1000 }); // the meter's filter leaves it out
        await RecordAsync("meter-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = "many" }); // a sum takes numbers only

        var meter = await MeterAsync("meter-user");

        Assert.NotNull(meter);
        Assert.Equal(PolarEmulatorDemo.MeterId, meter.MeterId);
        Assert.Equal(0m, meter.ConsumedUnits);
        Assert.Equal(0m, meter.Balance);
        Assert.Equal(2, meter.PendingEvents);
        Assert.Equal(42m, meter.PendingUnits);
    }

    [Fact]
    public async Task Once_polar_recomputed_its_figures_include_the_events_and_nothing_is_pending()
    {
        Polar.CreateCustomer("meter.user@gmail.com", externalId: "meter-user");
        var a = await RecordAsync("meter-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 10 });
        var b = await RecordAsync("meter-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 32 });
        await UntilAtPolarAsync(a, b);
        await UntilDrainedAsync();

        // Accepted but not recomputed yet (Polar waits 15 s after the last event): still pending here.
        var before = await MeterAsync("meter-user");
        Assert.Equal(2, before!.PendingEvents);
        Assert.Equal(42m, before.PendingUnits);

        await Polar.AdvanceTimeAsync(TimeSpan.FromSeconds(16), Ct);
        var after = await MeterAsync("meter-user");

        Assert.Equal(42m, after!.ConsumedUnits);
        Assert.Equal(-42m, after.Balance);
        Assert.NotNull(after.AsOf);
        Assert.Equal(0, after.PendingEvents);
        Assert.Equal(0m, after.PendingUnits);
    }

    [Fact]
    public async Task A_known_customer_without_a_row_reads_zero_and_a_user_without_a_customer_reads_null()
    {
        Polar.CreateCustomer("known@gmail.com", externalId: "known-user");

        var known = await MeterAsync("known-user");
        Assert.NotNull(known);
        Assert.Equal(0m, known.ConsumedUnits);
        Assert.Null(known.AsOf);
        Assert.Equal(0, known.PendingEvents);

        Assert.Null(await MeterAsync("nobody"));
    }

    [Fact]
    public async Task A_meter_is_named_by_id_or_by_a_Meters_slug_and_anything_else_is_refused()
    {
        await App.DisposeAsync();
        App = await StartAppAsync(FastSender(), createSchema: false, configure: o => o.Meters["ai-tokens"] = PolarEmulatorDemo.MeterId);
        Polar.CreateCustomer("known@gmail.com", externalId: "known-user");

        Assert.Equal(PolarEmulatorDemo.MeterId, (await MeterAsync("known-user", "ai-tokens"))!.MeterId);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => MeterAsync("known-user", "AI tokens"));
        Assert.Contains("KavachPolar:Meters", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Polar_failing_the_read_throws_KavachPolarException_with_its_code()
    {
        Polar.InjectFault(HttpMethod.Get, "/v1/customer-meters/", 503, count: 5);

        var e = await Assert.ThrowsAsync<KavachPolarException>(() => MeterAsync("someone"));
        Assert.Equal(KavachPolarErrorCodes.PolarUnavailable, e.ErrorCode);
    }
}
