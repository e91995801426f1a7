using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Parallel_checkouts_and_payments_each_produce_one_subscription_and_a_complete_event_sequence()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.created", "order.paid"]);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = $"usr_{i}" });
            return await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), $"parallel{i}@gmail.com", cancellationToken: TestContext.Current.CancellationToken);
        }));
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(16, results.Select(r => r.SubscriptionId).Distinct().Count());
        Assert.Equal(16, h.Emulator.Customers.Count);
        Assert.Equal(32, h.Receiver.Received.Count);
        foreach (var result in results)
        {
            var types = h.Receiver.Received.Where(r => r.BodyText.Contains(result.SubscriptionId, StringComparison.Ordinal)).Select(r => r.Type).ToList();
            Assert.Equal(["subscription.created", "order.paid"], types);
        }

        var list = await h.Http.GetAsync("v1/subscriptions/?limit=100");
        Assert.Equal(16, list.Json["pagination"]!["total_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Concurrent_updates_of_one_subscription_are_serialized_and_never_answer_409()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            using var client = new PolarHttp(h.Emulator);
            var body = i % 2 == 0 ? "{\"cancel_at_period_end\":true}" : $"{{\"metadata\":{{\"n\":{i}}}}}";
            return await client.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", body);
        }));

        var cancels = responses.Where((_, i) => i % 2 == 0).Select(r => r.Status).Order().ToList();
        Assert.Equal([200, 403, 403, 403, 403, 403], cancels);
        Assert.All(responses.Where((_, i) => i % 2 == 1), r => Assert.Equal(200, r.Status));
        Assert.True(JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["cancel_at_period_end"]!.GetValue<bool>());
    }
}
