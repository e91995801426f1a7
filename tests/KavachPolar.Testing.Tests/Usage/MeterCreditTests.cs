using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Usage;

/// <summary>
/// Meter-credit benefits as Polar's strategy keeps them (<c>benefit/strategies/meter_credit/service.py</c>, with
/// <c>customer_meter/service.py</c>): <c>meter.credited</c> on grant with the meter updated at once, <c>meter.reset</c>
/// and a new credit on each renewal (unused credits carried over only with rollover), the last credit debited on revoke.
/// </summary>
public sealed class MeterCreditTests
{
    private const string CreditId = "b7c8d9e0-0001-4a2b-8c3d-4e5f6a7b8c91";

    private static async Task<(Harness H, string SubscriptionId, string CustomerId)> SubscribeAsync(bool rollover)
    {
        var h = await Harness.StartAsync(o =>
        {
            o.Benefits.Add(new EmulatorBenefitDefinition("meter_credit", "1,000 AI tokens a month") { Id = CreditId, MeterId = PolarEmulator.DemoMeterId, Units = 1000, Rollover = rollover });
            var plan = new EmulatorProductDefinition("Pro AI", 1900);
            plan.BenefitIds.Add(CreditId);
            o.Products.Add(plan);
        });
        var result = await h.SubscribeAsync(productId: h.Emulator.Products.Single().Id);
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);
        return (h, result.SubscriptionId!, result.CustomerId!);
    }

    private static JsonObject Tokens(string customerId, int tokens) =>
        new() { ["name"] = PolarEmulator.DemoMeterEventName, ["customer_id"] = customerId, ["metadata"] = new JsonObject { ["tokens"] = tokens } };

    private static async Task<JsonNode> MeterAsync(Harness h) => Assert.Single(await h.CustomerMetersAsync())!;

    [Fact]
    public async Task A_grant_credits_the_units_at_once_and_records_them_on_the_grant()
    {
        var (h, _, customerId) = await SubscribeAsync(rollover: false);
        await using var _ = h;

        // No 15 s debounce: the strategy updates the customer's meter itself, activated.
        var meter = await MeterAsync(h);
        Assert.Equal(1000, (long)meter["credited_units"]!);
        Assert.Equal(0.0, (double)meter["consumed_units"]!);
        Assert.Equal(1000.0, (double)meter["balance"]!);
        Assert.Equal(customerId, (string?)meter["customer_id"]);
        var created = JsonNode.Parse(h.Receiver.Received.Last(r => r.Type == "benefit_grant.created").Body)!["data"]!["properties"]!;
        Assert.Equal(PolarEmulator.DemoMeterId, (string?)created["last_credited_meter_id"]);
        Assert.Equal(1000, (long)created["last_credited_units"]!);
        Assert.NotNull((string?)created["last_credited_at"]);
        // System events are Polar's own: not among the ingested ones.
        Assert.Empty(h.Emulator.IngestedEvents);
    }

    [Fact]
    public async Task Usage_draws_on_the_credits_and_the_balance_goes_negative_past_them()
    {
        var (h, _, customerId) = await SubscribeAsync(rollover: false);
        await using var _ = h;

        await h.IngestOkAsync(Tokens(customerId, 300));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        var within = await MeterAsync(h);
        await h.IngestOkAsync(Tokens(customerId, 900));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        var past = await MeterAsync(h);

        Assert.Equal(700.0, (double)within["balance"]!);
        Assert.Equal(1200.0, (double)past["consumed_units"]!);
        Assert.Equal(1000, (long)past["credited_units"]!);
        Assert.Equal(-200.0, (double)past["balance"]!);
    }

    [Fact]
    public async Task A_renewal_resets_the_meter_and_credits_again_dropping_unused_credits_without_rollover()
    {
        var (h, _, customerId) = await SubscribeAsync(rollover: false);
        await using var _ = h;
        await h.IngestOkAsync(Tokens(customerId, 300));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        await h.AdvanceAsync(TimeSpan.FromDays(31));
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);

        var meter = await MeterAsync(h);
        Assert.Equal(0.0, (double)meter["consumed_units"]!);
        Assert.Equal(1000, (long)meter["credited_units"]!);
        Assert.Equal(1000.0, (double)meter["balance"]!);
        Assert.Contains(h.Receiver.Received, r => r.Type == "benefit_grant.cycled");
    }

    [Fact]
    public async Task A_renewal_with_rollover_carries_the_unused_credits_over()
    {
        var (h, _, customerId) = await SubscribeAsync(rollover: true);
        await using var _ = h;
        await h.IngestOkAsync(Tokens(customerId, 300));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        await h.AdvanceAsync(TimeSpan.FromDays(31));

        var meter = await MeterAsync(h);
        Assert.Equal(0.0, (double)meter["consumed_units"]!);
        Assert.Equal(1700, (long)meter["credited_units"]!);
        Assert.Equal(1700.0, (double)meter["balance"]!);
    }

    [Fact]
    public async Task A_revoke_debits_the_last_credit()
    {
        var (h, subscriptionId, customerId) = await SubscribeAsync(rollover: false);
        await using var _ = h;
        await h.IngestOkAsync(Tokens(customerId, 300));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));

        await h.Emulator.RevokeSubscriptionAsync(subscriptionId, Usage.Ct);

        var meter = await MeterAsync(h);
        Assert.Equal(0, (long)meter["credited_units"]!);
        Assert.Equal(300.0, (double)meter["consumed_units"]!);
        Assert.Equal(-300.0, (double)meter["balance"]!);
    }

    [Theory]
    [InlineData(null, 1000)]
    [InlineData("not-a-uuid", 1000)]
    [InlineData(PolarEmulator.DemoMeterId, 0)]
    public async Task A_meter_credit_benefit_without_a_meter_or_with_no_units_is_refused_at_start(string? meterId, int units)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(new PolarEmulatorOptions
        {
            Benefits = { new EmulatorBenefitDefinition("meter_credit", "Credits") { MeterId = meterId, Units = units } },
        }, Usage.Ct));

        Assert.Contains("meter_credit benefit needs a MeterId", e.Message, StringComparison.Ordinal);
    }
    [Fact]
    public async Task The_demo_catalogue_with_DemoMeterCredits_gives_Pro_and_Team_a_credit_of_the_demo_meter_and_other_plans_none()
    {
        await using var h = await Harness.StartAsync(o => o.DemoMeterCredits = 1000);

        var credit = h.Emulator.Benefits.Single(b => b.Id == PolarEmulator.DemoMeterCreditBenefitId);
        Assert.Equal("meter_credit", credit.Type);
        Assert.Equal(
            ["Pro", "Team"],
            h.Emulator.Products.Where(p => p.BenefitIds.Contains(PolarEmulator.DemoMeterCreditBenefitId)).Select(p => p.Name).Order(StringComparer.Ordinal));
        // The rest of the demo catalogue is as without the option.
        Assert.Equal(6, h.Emulator.Products.Count);
        Assert.Equal(7, h.Emulator.Benefits.Count);

        var result = await h.SubscribeAsync();
        await h.Emulator.WaitForDeliveriesAsync(Usage.Ct);
        var meter = await MeterAsync(h);
        Assert.Equal(PolarEmulator.DemoMeterId, (string?)meter["meter_id"]);
        Assert.Equal(1000, (long)meter["credited_units"]!);
        Assert.Equal(1000.0, (double)meter["balance"]!);
        Assert.Equal(result.CustomerId, (string?)meter["customer_id"]);

        await h.IngestOkAsync(Tokens(result.CustomerId!, 40));
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        Assert.Equal(960.0, (double)(await MeterAsync(h))["balance"]!);
    }

    [Fact]
    public async Task Without_DemoMeterCredits_the_demo_catalogue_carries_no_meter_credit()
    {
        await using var h = await Harness.StartAsync();

        Assert.DoesNotContain(h.Emulator.Benefits, b => b.Type == "meter_credit");
        Assert.Equal(6, h.Emulator.Benefits.Count);
    }

    [Fact]
    public async Task Negative_DemoMeterCredits_are_refused_at_start()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(new PolarEmulatorOptions { DemoMeterCredits = -1 }, Usage.Ct));

        Assert.Contains("DemoMeterCredits", e.Message, StringComparison.Ordinal);
        Assert.Contains("0 or more", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DemoMeterCredits_with_a_catalogue_of_ones_own_is_refused_at_start()
    {
        var options = new PolarEmulatorOptions { DemoMeterCredits = 1000 };
        options.Products.Add(new EmulatorProductDefinition("Own plan", 900));

        var e = await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(options, Usage.Ct));

        Assert.Contains("DemoMeterCredits", e.Message, StringComparison.Ordinal);
        Assert.Contains("demo catalogue", e.Message, StringComparison.Ordinal);
    }
}
