using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>How the dispatcher delivers the changes webhooks queue: retried until the callback succeeds, in order per user.</summary>
public sealed class CallbackDeliveryTests : AppTest
{
    [Fact]
    public async Task A_callback_that_throws_is_retried_with_the_same_change_until_it_succeeds()
    {
        var attempts = 0;
        App.FailCallback = _ => Interlocked.Increment(ref attempts) <= 2;
        var id = Guid.NewGuid().ToString();
        await App.PostWebhookAsync(Compact(Example("subscription.created.json")), id, ct: Ct);

        await KavachTestApp.EventuallyAsync(() => !App.Changes.IsEmpty, TimeSpan.FromSeconds(20));
        var change = Assert.Single(App.Changes);
        Assert.Equal(id, change.EventId);
        Assert.Equal(3, attempts);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Contains(App.Logs.Lines, l => l.Contains("[3001]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Changes_reach_the_callback_in_order_per_user()
    {
        const string id = "4b5c6d7e-8f9a-4b0c-8d1e-3f4a5b6c7d8e";
        await PostAppliedAsync(Subscription("subscription.created", id, createdAt: T0));
        await PostAppliedAsync(Subscription("subscription.canceled", id, createdAt: T0, modifiedAt: T0.AddDays(1), cancelAtPeriodEnd: true));
        await PostAppliedAsync(Subscription("subscription.revoked", id, status: "canceled", createdAt: T0, modifiedAt: T0.AddDays(2)));

        await KavachTestApp.EventuallyAsync(() => App.Changes.Count == 3);
        var changes = App.Changes.ToArray();
        Assert.Equal(["subscription.created", "subscription.canceled", "subscription.revoked"], changes.Select(c => c.EventType));
        Assert.Null(changes[0].Previous);
        Assert.True(changes[1].Current!.CancelAtPeriodEnd);
        Assert.Equal(changes[1].Current, changes[2].Previous);
        Assert.Null(changes[2].Current);
    }

    private async Task PostAppliedAsync(JsonObject payload)
    {
        var response = await App.PostWebhookAsync(Compact(payload), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
    }
}
