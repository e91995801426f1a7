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
}
