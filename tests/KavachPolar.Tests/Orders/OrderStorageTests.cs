using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;
using static KavachPolar.Tests.Orders.OrderSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>
/// Orders stored from Polar's <c>order.*</c> webhooks (the emulator sends them for purchases, subscriptions, renewals and
/// refunds with Polar's event sequences), on real PostgreSQL with the webhook function installed.
/// </summary>
public sealed class OrderStorageTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    [Fact]
    public async Task A_one_time_purchase_is_stored_for_the_buyer_with_polars_amounts()
    {
        using var client = App.ClientFor("buyer", "buyer.person@gmail.com");
        var payment = await BuyAsync(Polar, client, Lifetime, Ct);

        var atPolar = JsonNode.Parse(Polar.GetOrderJson(payment.OrderId))!;
        Assert.Equal("buyer", await ColumnAsync(Db, payment.OrderId, "user_id", Ct));
        Assert.Equal("paid", await ColumnAsync(Db, payment.OrderId, "status", Ct));
        Assert.Equal("purchase", await ColumnAsync(Db, payment.OrderId, "billing_reason", Ct));
        Assert.Equal(Lifetime, await ColumnAsync(Db, payment.OrderId, "product_id", Ct));
        Assert.Null(await ColumnAsync(Db, payment.OrderId, "subscription_id", Ct));
        Assert.Equal(payment.CustomerId, await ColumnAsync(Db, payment.OrderId, "customer_id", Ct));
        foreach (var amount in new[] { "net_amount", "tax_amount", "total_amount", "refunded_amount" })
        {
            Assert.Equal(((long)atPolar[amount]!).ToString(System.Globalization.CultureInfo.InvariantCulture), await ColumnAsync(Db, payment.OrderId, amount, Ct));
        }

        Assert.Equal("29900", await ColumnAsync(Db, payment.OrderId, "net_amount", Ct));
        Assert.Equal("usd", await ColumnAsync(Db, payment.OrderId, "currency", Ct));
        var outcomes = await Db.QueryColumnAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE event_type LIKE 'order.%' ORDER BY received_at", Ct);
        Assert.Contains("applied", outcomes);
        Assert.All(outcomes, o => Assert.Contains(o, new[] { "applied", "stale" }));
    }

    [Fact]
    public async Task A_subscription_and_its_renewal_are_stored_as_the_users_billing_history()
    {
        using var client = App.ClientFor("renewer", "renewer.person@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);

        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        var reasons = await Db.QueryColumnAsync<string>("SELECT billing_reason || ':' || status FROM kavach_polar_orders WHERE user_id = 'renewer' ORDER BY created_at", Ct);
        Assert.Equal(["subscription_create:paid", "subscription_cycle:paid"], reasons);
        Assert.Equal(2L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_orders WHERE subscription_id = '{payment.SubscriptionId}'", Ct));
    }

    [Fact]
    public async Task Older_and_repeated_order_deliveries_change_nothing()
    {
        using var client = App.ClientFor("refunded", "refunded.person@gmail.com");
        var payment = await BuyAsync(Polar, client, AddOn, Ct);

        Polar.HoldDeliveries();
        await Polar.RefundAsync(payment.OrderId, 1000, cancellationToken: Ct);
        await Polar.RefundAsync(payment.OrderId, cancellationToken: Ct);
        // Newest first, each twice: the partial refund's order.updated lands after the full refund's, and is older.
        Polar.ReleaseDeliveries(events => events.Reverse().SelectMany(e => new[] { e, e }));
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal("refunded", await ColumnAsync(Db, payment.OrderId, "status", Ct));
        Assert.Equal("2900", await ColumnAsync(Db, payment.OrderId, "refunded_amount", Ct));
        Assert.True(await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE event_type LIKE 'order.%' AND outcome = 'stale'", Ct) >= 1);
        Assert.All(Polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode}"));
        // refund.* events carry nothing the order events do not: recorded and ignored.
        Assert.Equal(["ignored"], await Db.QueryColumnAsync<string>("SELECT DISTINCT outcome FROM kavach_polar_webhook_events WHERE event_type LIKE 'refund.%'", Ct));
    }

    [Fact]
    public async Task Grants_of_an_order_that_arrive_before_it_are_kept_and_linked_when_it_arrives()
    {
        using var client = App.ClientFor("early-grants", "early.grants@gmail.com");
        var checkout = await CheckoutAsync(client, Lifetime, Ct);
        Polar.HoldDeliveries();
        var payment = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal))
            .Concat(events.Where(e => !e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal))));
        await Polar.WaitForDeliveriesAsync(Ct);

        // Kept unlinked first (the order was not stored), then linked by the order's delivery.
        Assert.Equal(3, App.Logs.Collector.GetSnapshot().Count(r => r.Id.Id == 1200));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants WHERE user_id IS NULL", Ct));
        Assert.Equal(3L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_benefit_grants WHERE order_id = '{payment.OrderId}' AND user_id = 'early-grants'", Ct));
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "early-grants", Ct));
    }

    [Fact]
    public async Task Orders_of_a_forgotten_user_are_deleted_and_later_ones_recorded_without_effect()
    {
        using var client = App.ClientFor("gone-buyer", "gone.buyer@gmail.com");
        var payment = await BuyAsync(Polar, client, AddOn, Ct);
        await using (var scope = App.Services.CreateAsyncScope())
        {
            Assert.True(await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ForgetUserAsync("gone-buyer", Ct));
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_orders", Ct));

        await Polar.RefundAsync(payment.OrderId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_orders", Ct));
        Assert.Equal(2L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE event_type IN ('order.updated', 'order.refunded') AND outcome = 'forgotten'", Ct));
    }

    [Fact]
    public async Task A_signed_order_without_usable_ids_is_kept_as_unprocessable_and_writes_no_order()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"type":"order.paid","timestamp":"2026-12-07T05:00:00.000000Z","data":{"id":"","created_at":"2026-12-07T05:00:00Z",
            "status":"paid","customer_id":"0d5f4e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a","billing_reason":"purchase","net_amount":100,"tax_amount":0,
            "total_amount":100,"refunded_amount":0,"currency":"usd","metadata":{}}}
            """);

        var response = await App.DeliverAsync(body, "msg_bad_order", Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE id = 'msg_bad_order'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_orders", Ct));
    }

    [Fact]
    public async Task A_signed_order_without_its_amounts_is_kept_as_unprocessable()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"type":"order.created","timestamp":"2026-12-07T05:00:00.000000Z","data":{"id":"7a1c1f60-0000-4000-8000-000000000001","created_at":"2026-12-07T05:00:00Z",
            "status":"paid","customer_id":"0d5f4e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a","billing_reason":"purchase","currency":"usd","metadata":{}}}
            """);

        var response = await App.DeliverAsync(body, "msg_no_amounts", Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE id = 'msg_no_amounts'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_orders", Ct));
    }
}
