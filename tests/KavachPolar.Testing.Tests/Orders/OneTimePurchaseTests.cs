using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Orders;

/// <summary>
/// One-time products as Polar sells them: <c>is_recurring</c> false, a paid <c>purchase</c> order and no subscription
/// (<c>order/service.py create_from_checkout_one_time</c>), and <c>_validate_subscription_uniqueness</c> returning early
/// for them, so a subscriber can buy one.
/// </summary>
public sealed class OneTimePurchaseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_demo_lifetime_product_is_one_time_with_a_one_time_price()
    {
        await using var h = await Harness.StartAsync();

        var product = (await h.Http.GetAsync($"v1/products/{PolarEmulator.DemoLifetimeProductId}")).Json;

        Assert.Equal("Pro Lifetime", (string?)product["name"]);
        Assert.False((bool)product["is_recurring"]!);
        Assert.Null(product["recurring_interval"]);
        Assert.Null(product["recurring_interval_count"]);
        Assert.Equal("one_time", (string?)product["prices"]![0]!["type"]);
        Assert.Null(product["prices"]![0]!["recurring_interval"]);
        Assert.Equal(29900, (long)product["prices"]![0]!["price_amount"]!);
        Assert.False((bool)(await h.Http.GetAsync($"v1/products/{PolarEmulator.DemoAddOnProductId}")).Json["is_recurring"]!);
    }

    [Fact]
    public async Task Buying_a_one_time_product_makes_a_paid_purchase_order_with_the_checkouts_metadata_grants_to_it_and_no_subscription()
    {
        await using var h = await Harness.StartAsync();

        var paid = await h.SubscribeAsync("buyer@gmail.com", new JsonObject { ["metadata"] = new JsonObject { ["kavach_user_id"] = "usr_1" } }, PolarEmulator.DemoLifetimeProductId);

        Assert.Equal("", paid.SubscriptionId);
        Assert.Equal(
            ["checkout.created", "checkout.updated", "customer.created", "customer.state_changed", "order.created", "order.updated", "order.paid", "checkout.updated",
             "benefit_grant.created", "benefit_grant.created", "benefit_grant.created", "customer.state_changed"],
            h.ReceivedTypes());
        var order = (await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json;
        Assert.Equal("paid", (string?)order["status"]);
        Assert.True((bool)order["paid"]!);
        Assert.Equal("purchase", (string?)order["billing_reason"]);
        Assert.Null(order["subscription_id"]);
        Assert.Null(order["subscription"]);
        Assert.Equal(PolarEmulator.DemoLifetimeProductId, (string?)order["product_id"]);
        Assert.Equal("usr_1", (string?)order["metadata"]!["kavach_user_id"]);
        Assert.Equal([29900L, 0L, 29900L, 0L, 29900L, 0L, 0L, 29900L], new[] { "subtotal_amount", "discount_amount", "net_amount", "tax_amount", "total_amount", "refunded_amount", "refunded_tax_amount", "refundable_amount" }.Select(k => (long)order[k]!));
        Assert.Equal("usd", (string?)order["currency"]);
        Assert.Null(Assert.Single(order["items"]!.AsArray())!["start_timestamp"]);
        Assert.Empty((await h.Http.GetAsync($"v1/subscriptions/?customer_id={paid.CustomerId}")).Json["items"]!.AsArray());
        Assert.All(h.Emulator.BenefitGrants, g => Assert.Equal(paid.OrderId, g.OrderId));
        Assert.All(h.Emulator.BenefitGrants, g => Assert.True(g.IsGranted));
        var state = (await h.Http.GetAsync($"v1/customers/{paid.CustomerId}/state")).Json;
        Assert.Empty(state["active_subscriptions"]!.AsArray());
        Assert.Equal(3, state["granted_benefits"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_subscriber_can_buy_the_add_on_but_still_not_a_second_subscription()
    {
        await using var h = await Harness.StartAsync();
        var subscribed = await h.SubscribeAsync("subscriber@gmail.com");

        var addOn = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = subscribed.CustomerId }, PolarEmulator.DemoAddOnProductId);
        var bought = await h.Emulator.PayCheckoutAsync((string)addOn["id"]!, cancellationToken: Ct);
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = subscribed.CustomerId }, h.Team.Id);
        var refused = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.PayCheckoutAsync((string)second["id"]!, cancellationToken: Ct));

        Assert.Equal(subscribed.CustomerId, bought.CustomerId);
        Assert.Equal("purchase", (string?)(await h.Http.GetAsync($"v1/orders/{bought.OrderId}")).Json["billing_reason"]);
        Assert.Equal(403, refused.StatusCode);
        Assert.Single((await h.Http.GetAsync($"v1/subscriptions/?customer_id={subscribed.CustomerId}")).Json["items"]!.AsArray());
    }

    [Fact]
    public async Task A_checkout_that_asks_for_a_trial_on_a_one_time_product_gets_none()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["trial_interval"] = "day", ["trial_interval_count"] = 7 }, PolarEmulator.DemoLifetimeProductId);
        var paid = await h.Emulator.PayCheckoutAsync((string)checkout["id"]!, "t@gmail.com", cancellationToken: Ct);

        Assert.Null(checkout["trial_end"]);
        Assert.Equal(29900, (long)(await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["total_amount"]!);
    }

    [Fact]
    public async Task Changing_a_subscription_to_a_one_time_product_is_refused_as_polar_does_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{paid.SubscriptionId}", $"{{\"product_id\":\"{PolarEmulator.DemoLifetimeProductId}\"}}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(422, response.Status);
        Assert.Equal($"{{\"error\":\"PolarRequestValidationError\",\"detail\":[{{\"type\":\"value_error\",\"loc\":[\"body\",\"product_id\"],\"msg\":\"Product is not recurring.\",\"input\":\"{PolarEmulator.DemoLifetimeProductId}\"}}]}}", response.Body);
        Assert.Equal(h.Pro.Id, (string?)(await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}")).Json["product_id"]);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task A_one_time_product_with_a_trial_is_refused_at_start()
    {
        var options = new PolarEmulatorOptions();
        var product = EmulatorProductDefinition.OneTime("Lifetime", 9900);
        product.TrialInterval = "day";
        options.Products.Add(product);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(options, Ct));

        Assert.Contains("'Lifetime' is one-time and has a trial", e.Message, StringComparison.Ordinal);
    }
}
