using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Orders;

/// <summary>
/// <c>POST /v1/refunds/</c> as Polar's refund service runs it (<c>refund/service.py user_create</c>, <c>create</c>,
/// <c>_on_created</c>, <c>_on_succeeded</c>; <c>models/order.py update_refunds</c>): its checks in order, each error body
/// as Polar writes it, the order's status arithmetic, the events, and the benefit revocation of one-time orders.
/// </summary>
public sealed class RefundTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Refund(string orderId, long amount, string reason = "customer_request", bool? revoke = null)
    {
        var body = new JsonObject { ["order_id"] = orderId, ["reason"] = reason, ["amount"] = amount };
        if (revoke is { } r)
        {
            body["revoke_benefits"] = r;
        }

        return body.ToJsonString();
    }

    private static async Task<EmulatorPaymentResult> BuyLifetimeAsync(Harness h) =>
        await h.SubscribeAsync("buyer@gmail.com", productId: PolarEmulator.DemoLifetimeProductId);

    [Fact]
    public async Task A_partial_then_the_remaining_refund_move_the_order_to_partially_refunded_then_refunded_each_with_polars_events()
    {
        await using var h = await Harness.StartAsync();
        var paid = await BuyLifetimeAsync(h);
        var seen = h.Receiver.Received.Count;

        var first = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 10000));
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var afterFirst = (await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json;
        var firstTypes = h.ReceivedTypes(seen);
        seen = h.Receiver.Received.Count;
        var second = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 19900, "duplicate"));
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var afterSecond = (await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json;

        Assert.Equal(201, first.Status);
        Assert.Equal("succeeded", first["status"]);
        Assert.Equal("10000", first["amount"]);
        Assert.Equal("0", first["tax_amount"]);
        Assert.Equal(paid.OrderId, first["order_id"]);
        Assert.Null(first.Json["subscription_id"]);
        Assert.Equal(paid.CustomerId, first["customer_id"]);
        Assert.Equal(["refund.created", "order.updated", "order.refunded", "refund.updated"], firstTypes);
        Assert.Equal("partially_refunded", (string?)afterFirst["status"]);
        Assert.True((bool)afterFirst["paid"]!);
        Assert.Equal(10000, (long)afterFirst["refunded_amount"]!);
        Assert.Equal(19900, (long)afterFirst["refundable_amount"]!);
        var refunded = h.Receiver.Received.Where(r => r.Type == "order.refunded").Select(r => JsonNode.Parse(r.Body)!["data"]!).ToList();
        Assert.Equal(["partially_refunded", "refunded"], refunded.Select(o => (string?)o["status"]));
        Assert.Equal(201, second.Status);
        Assert.Equal("duplicate", second["reason"]);
        Assert.Equal(["refund.created", "order.updated", "order.refunded", "refund.updated"], h.ReceivedTypes(seen));
        Assert.Equal("refunded", (string?)afterSecond["status"]);
        Assert.Equal(29900, (long)afterSecond["refunded_amount"]!);
        Assert.Equal(0, (long)afterSecond["refundable_amount"]!);
        var list = (await h.Http.GetAsync($"v1/refunds/?order_id={paid.OrderId}")).Json;
        Assert.Equal([second["id"], first["id"]], list["items"]!.AsArray().Select(r => (string?)r!["id"]));
    }

    [Fact]
    public async Task A_fully_refunded_order_is_refused_403_refunded_already_and_nothing_changes()
    {
        await using var h = await Harness.StartAsync();
        var paid = await BuyLifetimeAsync(h);
        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 29900))).Status);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var seen = h.Receiver.Received.Count;

        var again = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 1));
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(403, again.Status);
        Assert.Equal($"{{\"error\":\"RefundedAlready\",\"detail\":\"Order is already fully refunded: {paid.OrderId}\"}}", again.Body);
        Assert.Empty(h.ReceivedTypes(seen));
        Assert.Single((await h.Http.GetAsync("v1/refunds/")).Json["items"]!.AsArray());
    }

    [Fact]
    public async Task Refunded_already_is_checked_before_revoke_benefits_so_a_refunded_subscription_order_with_revoke_is_403()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 1900))).Status);

        var again = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 1, revoke: true));

        Assert.Equal(403, again.Status);
        Assert.Equal($"{{\"error\":\"RefundedAlready\",\"detail\":\"Order is already fully refunded: {paid.OrderId}\"}}", again.Body);
    }

    [Fact]
    public async Task An_amount_above_what_is_left_is_refused_422_at_body_amount_and_nothing_changes()
    {
        await using var h = await Harness.StartAsync();
        var paid = await BuyLifetimeAsync(h);
        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 29000))).Status);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var seen = h.Receiver.Received.Count;

        var over = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 901));
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(422, over.Status);
        Assert.Equal("{\"error\":\"PolarRequestValidationError\",\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"amount\"],\"msg\":\"Refund amount exceeds refundable amount\",\"input\":901}]}", over.Body);
        Assert.Empty(h.ReceivedTypes(seen));
        Assert.Equal(29000, (long)(await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["refunded_amount"]!);
    }

    [Fact]
    public async Task An_unknown_order_is_422_order_not_found_at_body_order_id()
    {
        await using var h = await Harness.StartAsync();
        var id = Guid.NewGuid().ToString();

        var response = await h.Http.PostAsync("v1/refunds/", Refund(id, 100));

        Assert.Equal(422, response.Status);
        Assert.Equal($"{{\"error\":\"PolarRequestValidationError\",\"detail\":[{{\"type\":\"value_error\",\"loc\":[\"body\",\"order_id\"],\"msg\":\"Order not found\",\"input\":\"{id}\"}}]}}", response.Body);
    }

    [Fact]
    public async Task Request_validation_refuses_a_missing_field_an_amount_not_above_zero_and_an_unknown_or_system_reason()
    {
        await using var h = await Harness.StartAsync();
        var paid = await BuyLifetimeAsync(h);

        var missing = await h.Http.PostAsync("v1/refunds/", $"{{\"order_id\":\"{paid.OrderId}\"}}");
        var zero = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 0));
        var reason = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 100, "dispute_prevention"));

        Assert.Equal(422, missing.Status);
        Assert.Equal(["reason", "amount"], missing.Json["detail"]!.AsArray().Select(e => (string?)e!["loc"]![1]));
        Assert.All(missing.Json["detail"]!.AsArray(), e => Assert.Equal("missing", (string?)e!["type"]));
        Assert.Equal("{\"error\":\"RequestValidationError\",\"detail\":[{\"type\":\"greater_than\",\"loc\":[\"body\",\"amount\"],\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}}]}", zero.Body);
        Assert.Equal(422, reason.Status);
        var error = reason.Json["detail"]![0]!;
        Assert.Equal("literal_error", (string?)error["type"]);
        Assert.Equal("Input should be <RefundReason.duplicate: 'duplicate'>, <RefundReason.fraudulent: 'fraudulent'>, <RefundReason.customer_request: 'customer_request'>, <RefundReason.service_disruption: 'service_disruption'>, <RefundReason.satisfaction_guarantee: 'satisfaction_guarantee'> or <RefundReason.other: 'other'>", (string?)error["msg"]);
        Assert.Empty((await h.Http.GetAsync("v1/refunds/")).Json["items"]!.AsArray());
        Assert.Equal("paid", (string?)(await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["status"]);
    }

    [Fact]
    public async Task Revoke_benefits_on_a_subscriptions_order_is_400_and_a_plain_refund_of_it_leaves_the_subscription_and_its_grants_alone()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var refused = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 1900, revoke: true));
        var refund = await h.Http.PostAsync("v1/refunds/", Refund(paid.OrderId, 1900));
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(400, refused.Status);
        Assert.Equal("{\"error\":\"RevokeSubscriptionBenefitsProhibited\",\"detail\":\"Subscription benefits can only be revoked upon cancellation\"}", refused.Body);
        Assert.Equal(201, refund.Status);
        Assert.Equal(paid.SubscriptionId, refund["subscription_id"]);
        Assert.Equal(["refund.created", "order.updated", "order.refunded", "refund.updated"], h.ReceivedTypes(seen));
        Assert.Equal("active", (string?)(await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}")).Json["status"]);
        Assert.All(h.Emulator.BenefitGrants, g => Assert.True(g.IsGranted));
    }

    [Fact]
    public async Task A_partial_refund_of_a_one_time_order_with_revoke_benefits_revokes_all_of_its_grants_and_one_without_revokes_none()
    {
        await using var h = await Harness.StartAsync();
        var kept = await h.SubscribeAsync("kept@gmail.com", productId: PolarEmulator.DemoAddOnProductId);
        var lost = await h.SubscribeAsync("lost@gmail.com", productId: PolarEmulator.DemoLifetimeProductId);
        var seen = h.Receiver.Received.Count;

        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(kept.OrderId, 100))).Status);
        var revoking = await h.Http.PostAsync("v1/refunds/", Refund(lost.OrderId, 100, revoke: true));
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.True(bool.Parse(revoking["revoke_benefits"]));
        Assert.Equal(
            ["refund.created", "order.updated", "order.refunded", "refund.updated",
             "refund.created", "order.updated", "order.refunded", "benefit_grant.revoked", "benefit_grant.revoked", "benefit_grant.revoked", "customer.state_changed", "refund.updated"],
            h.ReceivedTypes(seen));
        Assert.All(h.Emulator.BenefitGrants.Where(g => g.OrderId == lost.OrderId), g => Assert.True(g.IsRevoked));
        Assert.All(h.Emulator.BenefitGrants.Where(g => g.OrderId == kept.OrderId), g => Assert.True(g.IsGranted));
        Assert.Equal("partially_refunded", (string?)(await h.Http.GetAsync($"v1/orders/{lost.OrderId}")).Json["status"]);
        Assert.Empty((await h.Http.GetAsync($"v1/customers/{lost.CustomerId}/state")).Json["granted_benefits"]!.AsArray());
    }

    [Fact]
    public async Task A_trials_zero_order_cannot_be_refunded_and_a_pending_order_has_no_payment_to_refund()
    {
        await using var h = await Harness.StartAsync();
        var trial = await h.SubscribeAsync("trial@gmail.com", productId: h.Trial.Id);
        var renewing = await h.SubscribeAsync("renewing@gmail.com");
        await h.Emulator.FailRenewalAsync(renewing.SubscriptionId, Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var pending = JsonNode.Parse(h.Receiver.Received.Last(r => r.Type == "order.created").Body)!["data"]!;

        var zero = await h.Http.PostAsync("v1/refunds/", Refund(trial.OrderId, 1));
        var unpaid = await h.Http.PostAsync("v1/refunds/", Refund((string)pending["id"]!, 100));

        Assert.Equal("pending", (string?)pending["status"]);
        Assert.Equal(422, zero.Status);
        Assert.Equal("Refund amount exceeds refundable amount", (string?)zero.Json["detail"]![0]!["msg"]);
        Assert.Equal(404, unpaid.Status);
        Assert.Equal($"{{\"error\":\"RefundUnknownPayment\",\"detail\":\"Refund issued for unknown order: {pending["id"]}\"}}", unpaid.Body);
    }

    [Fact]
    public async Task Refund_routes_need_their_scopes_and_the_list_filters_by_customer_and_succeeded()
    {
        await using var h = await Harness.StartAsync();
        var a = await BuyLifetimeAsync(h);
        var b = await h.SubscribeAsync("other@gmail.com", productId: PolarEmulator.DemoAddOnProductId);
        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(a.OrderId, 100))).Status);
        Assert.Equal(201, (await h.Http.PostAsync("v1/refunds/", Refund(b.OrderId, 100))).Status);
        using var reader = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["refunds:read"]));

        var refused = await reader.PostAsync("v1/refunds/", Refund(a.OrderId, 100));
        var mine = (await reader.GetAsync($"v1/refunds/?customer_id={a.CustomerId}")).Json["items"]!.AsArray();
        var none = (await reader.GetAsync("v1/refunds/?succeeded=false")).Json["items"]!.AsArray();

        Assert.Equal(403, refused.Status);
        Assert.Contains("insufficient_scope", refused.Body, StringComparison.Ordinal);
        Assert.Equal(a.OrderId, (string?)Assert.Single(mine)!["order_id"]);
        Assert.Empty(none);
    }

    [Fact]
    public async Task The_dashboard_refund_control_refunds_what_is_left_by_default_and_answers_polars_errors()
    {
        await using var h = await Harness.StartAsync();
        var paid = await BuyLifetimeAsync(h);

        using var partial = await h.Http.Client.PostAsync(new Uri($"_emulator/orders/{paid.OrderId}/refund", UriKind.Relative),
            new StringContent("{\"amount\":900,\"revoke_benefits\":true}", System.Text.Encoding.UTF8, "application/json"), Ct);
        var rest = JsonNode.Parse(await h.Emulator.RefundAsync(paid.OrderId, cancellationToken: Ct))!;
        var again = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.RefundAsync(paid.OrderId, cancellationToken: Ct));
        using var control = await h.Http.Client.PostAsync(new Uri($"_emulator/orders/{paid.OrderId}/refund", UriKind.Relative), null, Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, partial.StatusCode);
        Assert.Equal(29000, (long)rest["amount"]!);
        Assert.Equal("customer_request", (string?)rest["reason"]);
        Assert.Equal(403, again.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, control.StatusCode);
        Assert.StartsWith("{\"error\":\"RefundedAlready\"", await control.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal("refunded", (string?)JsonNode.Parse(h.Emulator.GetOrderJson(paid.OrderId))!["status"]);
        Assert.All(h.Emulator.BenefitGrants, g => Assert.True(g.IsRevoked));
    }
}
