using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// <c>GET /v1/subscriptions/</c> filters, pagination and sorting as Polar answers them: filters repeat and combine, a
/// <c>limit</c> above 100 is clamped to 100, and the default sort is <c>-started_at</c> (newest start first).
/// </summary>
public sealed class SubscriptionListTests
{
    private static async Task<(Harness H, List<EmulatorPaymentResult> Results)> SeedAsync()
    {
        var h = await Harness.StartAsync(events: ["customer.created"]);
        var results = new List<EmulatorPaymentResult>
        {
            await h.SubscribeAsync("a.user@gmail.com", new JsonObject { ["external_customer_id"] = "usr_a", ["metadata"] = new JsonObject { ["plan"] = "x" } }),
            await h.SubscribeAsync("b.user@gmail.com", new JsonObject { ["external_customer_id"] = "usr_b", ["metadata"] = new JsonObject { ["plan"] = "y" } }),
        };
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        results.Add(await h.SubscribeAsync("c.user@gmail.com", productId: h.Emulator.Products.Single(p => p.Name == "Team").Id));
        await h.Emulator.RevokeSubscriptionAsync(results[1].SubscriptionId, TestContext.Current.CancellationToken);
        return (h, results);
    }

    private static List<string> Ids(PolarResponse response) => response.Json["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task The_default_sort_is_newest_start_first_with_polars_pagination_object()
    {
        var (h, r) = await SeedAsync();
        await using var _ = h;

        var response = await h.Http.GetAsync("v1/subscriptions/");

        Assert.Equal(r[2].SubscriptionId, Ids(response)[0]);
        Assert.Equal("{\"total_count\":3,\"max_page\":1}", response.Json["pagination"]!.ToJsonString());
    }

    [Fact]
    public async Task Status_can_repeat_and_filters_combine()
    {
        var (h, r) = await SeedAsync();
        await using var _ = h;

        var activeOrCanceled = await h.Http.GetAsync("v1/subscriptions/?status=active&status=canceled");
        var canceled = await h.Http.GetAsync("v1/subscriptions/?status=canceled");
        var pastDue = await h.Http.GetAsync("v1/subscriptions/?status=past_due");

        Assert.Equal(3, Ids(activeOrCanceled).Count);
        Assert.Equal([r[1].SubscriptionId], Ids(canceled));
        Assert.Empty(Ids(pastDue));
        Assert.Equal("{\"total_count\":0,\"max_page\":0}", pastDue.Json["pagination"]!.ToJsonString());
    }

    [Fact]
    public async Task Customer_external_customer_product_and_metadata_filters_select_the_right_subscriptions()
    {
        var (h, r) = await SeedAsync();
        await using var _ = h;
        var team = h.Emulator.Products.Single(p => p.Name == "Team").Id;

        Assert.Equal([r[0].SubscriptionId], Ids(await h.Http.GetAsync($"v1/subscriptions/?customer_id={r[0].CustomerId}")));
        Assert.Equal([r[1].SubscriptionId], Ids(await h.Http.GetAsync("v1/subscriptions/?external_customer_id=usr_b")));
        Assert.Equal([r[2].SubscriptionId], Ids(await h.Http.GetAsync($"v1/subscriptions/?product_id={team}")));
        Assert.Equal([r[0].SubscriptionId], Ids(await h.Http.GetAsync("v1/subscriptions/?metadata%5Bplan%5D=x")));
    }

    [Fact]
    public async Task A_limit_above_100_is_clamped_and_pages_are_counted()
    {
        var (h, _) = await SeedAsync();
        await using var __ = h;

        var page1 = await h.Http.GetAsync("v1/subscriptions/?limit=2&page=1");
        var page2 = await h.Http.GetAsync("v1/subscriptions/?limit=2&page=2");
        var clamped = await h.Http.GetAsync("v1/subscriptions/?limit=500");

        Assert.Equal(2, Ids(page1).Count);
        Assert.Single(Ids(page2));
        Assert.Equal("{\"total_count\":3,\"max_page\":2}", page1.Json["pagination"]!.ToJsonString());
        Assert.Equal("{\"total_count\":3,\"max_page\":1}", clamped.Json["pagination"]!.ToJsonString());
    }

    [Fact]
    public async Task Bad_query_values_are_validation_errors()
    {
        var (h, _) = await SeedAsync();
        await using var __ = h;

        var page = await h.Http.GetAsync("v1/subscriptions/?page=0");
        var status = await h.Http.GetAsync("v1/subscriptions/?status=live");
        var customer = await h.Http.GetAsync("v1/subscriptions/?customer_id=nope");

        Assert.Equal(422, page.Status);
        Assert.Equal("greater_than", page.Json["detail"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("enum", status.Json["detail"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("[\"query\",\"status\",0]", status.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal("uuid_parsing", customer.Json["detail"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Patching_metadata_replaces_it_and_sends_subscription_updated()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.updated"]);
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"metadata\":{\"seat\":\"3\"}}");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, response.Status);
        Assert.Equal("{\"seat\":\"3\"}", response.Json["metadata"]!.ToJsonString());
        Assert.Equal(["subscription.updated"], h.ReceivedTypes(seen));
    }
}
