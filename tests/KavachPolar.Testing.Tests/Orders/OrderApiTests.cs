using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Orders;

/// <summary>
/// <c>GET /v1/orders/</c>, <c>GET /v1/orders/{id}</c> and the invoice routes (<c>order/endpoints.py</c>,
/// <c>order/service.py list</c>, <c>trigger_invoice_generation</c>, <c>generate_invoice</c>, <c>get_order_invoice</c>),
/// and the orders renewals and invoiced plan changes make, with the subscription's metadata.
/// </summary>
public sealed class OrderApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static List<string?> Ids(PolarResponse response) => [.. response.Json["items"]!.AsArray().Select(o => (string?)o!["id"])];

    [Fact]
    public async Task The_list_filters_by_billing_type_customer_external_id_product_subscription_and_status_and_pages_newest_first()
    {
        await using var h = await Harness.StartAsync();
        var sub = await h.SubscribeAsync("sub@gmail.com", new JsonObject { ["external_customer_id"] = "usr_sub" });
        var bought = await h.SubscribeAsync("buy@gmail.com", productId: PolarEmulator.DemoLifetimeProductId);
        await h.Emulator.RefundAsync(bought.OrderId, 100, cancellationToken: Ct);

        var all = await h.Http.GetAsync("v1/orders/?limit=1");
        var second = await h.Http.GetAsync("v1/orders/?limit=1&page=2");

        Assert.Equal(2, (int)all.Json["pagination"]!["total_count"]!);
        Assert.Equal(2, (int)all.Json["pagination"]!["max_page"]!);
        Assert.Equal([bought.OrderId], Ids(all));
        Assert.Equal([sub.OrderId], Ids(second));
        Assert.Equal([bought.OrderId], Ids(await h.Http.GetAsync("v1/orders/?product_billing_type=one_time")));
        Assert.Equal([sub.OrderId], Ids(await h.Http.GetAsync("v1/orders/?product_billing_type=recurring")));
        Assert.Equal([sub.OrderId], Ids(await h.Http.GetAsync($"v1/orders/?customer_id={sub.CustomerId}")));
        Assert.Equal([sub.OrderId], Ids(await h.Http.GetAsync("v1/orders/?external_customer_id=usr_sub")));
        Assert.Equal([bought.OrderId], Ids(await h.Http.GetAsync($"v1/orders/?product_id={PolarEmulator.DemoLifetimeProductId}")));
        Assert.Equal([sub.OrderId], Ids(await h.Http.GetAsync($"v1/orders/?subscription_id={sub.SubscriptionId}")));
        Assert.Equal([bought.OrderId], Ids(await h.Http.GetAsync("v1/orders/?status=partially_refunded")));
        Assert.Empty(Ids(await h.Http.GetAsync($"v1/orders/?customer_id={Guid.NewGuid()}")));
    }

    [Fact]
    public async Task Bad_filters_are_422_and_unknown_orders_404()
    {
        await using var h = await Harness.StartAsync();

        var billing = await h.Http.GetAsync("v1/orders/?product_billing_type=lifetime");
        var id = await h.Http.GetAsync("v1/orders/?customer_id=nope");
        var missing = await h.Http.GetAsync($"v1/orders/{Guid.NewGuid()}");

        Assert.Equal("{\"error\":\"RequestValidationError\",\"detail\":[{\"type\":\"enum\",\"loc\":[\"query\",\"product_billing_type\",0],\"msg\":\"Input should be 'one_time' or 'recurring'\",\"input\":\"lifetime\",\"ctx\":{\"expected\":\"'one_time' or 'recurring'\"}}]}", billing.Body);
        Assert.Equal(422, id.Status);
        Assert.Equal("uuid_parsing", (string?)id.Json["detail"]![0]!["type"]);
        Assert.Equal("{\"error\":\"ResourceNotFound\",\"detail\":\"Not found\"}", missing.Body);
    }

    [Fact]
    public async Task Order_routes_take_orders_read_only()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        using var writer = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["orders:write"]));
        using var reader = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["orders:read"]));

        var refused = await writer.GetAsync("v1/orders/");
        var invoice = await reader.PostAsync($"v1/orders/{paid.OrderId}/invoice", "");

        Assert.Equal(403, refused.Status);
        Assert.Contains("scope=\"orders:read\"", refused.Headers["www-authenticate"], StringComparison.Ordinal);
        Assert.Equal(200, (await reader.GetAsync("v1/orders/")).Status);
        Assert.Equal(202, invoice.Status);
    }

    [Fact]
    public async Task A_renewal_order_carries_the_subscriptions_metadata_and_comes_created_pending_then_updated_and_paid()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync(fields: new JsonObject { ["metadata"] = new JsonObject { ["kavach_user_id"] = "usr_r" } });
        var seen = h.Receiver.Received.Count;

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        var orders = h.Receiver.Received.Skip(seen).Where(r => r.Type.StartsWith("order.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["order.created", "order.updated", "order.paid"], orders.Select(o => o.Type));
        var created = JsonNode.Parse(orders[0].Body)!["data"]!;
        Assert.Equal("pending", (string?)created["status"]);
        Assert.Equal("subscription_cycle", (string?)created["billing_reason"]);
        Assert.Equal("usr_r", (string?)created["metadata"]!["kavach_user_id"]);
        Assert.Equal("paid", (string?)JsonNode.Parse(orders[2].Body)!["data"]!["status"]);
        Assert.Equal(2, (await h.Http.GetAsync($"v1/orders/?subscription_id={paid.SubscriptionId}")).Json["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task An_invoiced_plan_change_bills_the_prorations_in_a_subscription_update_order_created_before_subscription_updated()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync(fields: new JsonObject { ["metadata"] = new JsonObject { ["kavach_user_id"] = "usr_u" } });
        var seen = h.Receiver.Received.Count;

        var changed = await h.Http.PatchAsync($"v1/subscriptions/{paid.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"invoice\"}}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(200, changed.Status);
        var types = h.ReceivedTypes(seen);
        Assert.Equal("order.created", types[0]);
        Assert.Equal("subscription.updated", types[1]);
        Assert.Equal(["order.updated", "order.paid"], types[^2..]);
        var order = JsonNode.Parse(h.Receiver.Received.Last(r => r.Type == "order.paid").Body)!["data"]!;
        Assert.Equal("subscription_update", (string?)order["billing_reason"]);
        Assert.Equal("usr_u", (string?)order["metadata"]!["kavach_user_id"]);
        var items = order["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.True((bool)i!["proration"]!));
        Assert.StartsWith("Remaining time on Pro — From ", (string?)items[0]!["label"], StringComparison.Ordinal);
        Assert.True((long)items[0]!["amount"]! is < 0 and >= -1900);
        Assert.True((long)items[1]!["amount"]! is > 0 and <= 4900);
        Assert.Equal((long)items[0]!["amount"]! + (long)items[1]!["amount"]!, (long)order["total_amount"]!);
    }

    [Fact]
    public async Task A_next_period_plan_change_bills_nothing_now()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        await h.Http.PatchAsync($"v1/subscriptions/{paid.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"next_period\"}}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.DoesNotContain(h.ReceivedTypes(seen), t => t.StartsWith("order.", StringComparison.Ordinal));
    }
}
