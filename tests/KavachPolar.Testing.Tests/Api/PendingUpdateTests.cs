using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// A <c>next_period</c> plan change as Polar's subscription service keeps it (<c>update_product</c>,
/// <c>clear_pending_update</c>, <c>cycle</c>): a <c>pending_update</c> applied when the period renews, cleared with
/// <c>{"pending_update": null}</c> (a 422 when nothing is pending), dropped by an immediate change.
/// </summary>
public sealed class PendingUpdateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonObject LastData(Harness h) =>
        JsonNode.Parse(h.Receiver.Received[^1].Body)!["data"]!.AsObject();

    [Fact]
    public async Task A_next_period_change_keeps_the_product_and_holds_a_pending_update_that_applies_at_the_period_end()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.updated"]);
        var result = await h.SubscribeAsync(productId: h.Pro.Id);
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"next_period\"}}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(200, response.Status);
        Assert.Equal(h.Pro.Id, response["product_id"]);
        var pending = response.Json["pending_update"]!;
        Assert.Equal(h.Team.Id, (string?)pending["product_id"]);
        Assert.Equal(response["current_period_end"], (string?)pending["applies_at"]);
        Assert.Equal(["subscription.updated"], h.ReceivedTypes(seen));
        Assert.Equal(h.Team.Id, (string?)LastData(h)["pending_update"]!["product_id"]);

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        var renewed = await h.Http.GetAsync($"v1/subscriptions/{result.SubscriptionId}");
        Assert.Equal(h.Team.Id, renewed["product_id"]);
        Assert.Null(renewed.Json["pending_update"]);
    }

    [Fact]
    public async Task Clearing_the_pending_update_keeps_the_product_at_renewal_and_sends_subscription_updated()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.updated"]);
        var result = await h.SubscribeAsync(productId: h.Pro.Id);
        await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"next_period\"}}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"pending_update\":null}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(200, response.Status);
        Assert.Null(response.Json["pending_update"]);
        Assert.Equal(["subscription.updated"], h.ReceivedTypes(seen));
        Assert.True(LastData(h).ContainsKey("pending_update"));
        Assert.Null(LastData(h)["pending_update"]);

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        Assert.Equal(h.Pro.Id, (await h.Http.GetAsync($"v1/subscriptions/{result.SubscriptionId}"))["product_id"]);
    }

    [Fact]
    public async Task Clearing_when_nothing_is_pending_is_a_422_on_body_pending_update_and_sends_nothing()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.updated"]);
        var result = await h.SubscribeAsync(productId: h.Pro.Id);
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"pending_update\":null}");
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(422, response.Status);
        Assert.Equal("PolarRequestValidationError", response["error"]);
        var detail = Assert.Single(response.Json["detail"]!.AsArray())!;
        Assert.Equal("[\"body\",\"pending_update\"]", detail["loc"]!.ToJsonString());
        Assert.Equal("This subscription has no pending update to clear.", (string?)detail["msg"]);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task An_immediate_change_drops_the_pending_update()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.updated"]);
        var result = await h.SubscribeAsync(productId: h.Pro.Id);
        await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"next_period\"}}");

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\",\"proration_behavior\":\"invoice\"}}");

        Assert.Equal(200, response.Status);
        Assert.Equal(h.Team.Id, response["product_id"]);
        Assert.Null(response.Json["pending_update"]);
    }
}
