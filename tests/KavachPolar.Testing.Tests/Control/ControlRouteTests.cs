using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Control;

/// <summary>The standalone tool's HTTP controls under <c>/_emulator/</c> drive the same behaviour as the C# API.</summary>
public sealed class ControlRouteTests
{
    private static async Task<JsonNode> PostAsync(Harness h, string path, object? body = null)
    {
        using var response = await h.Http.Client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body ?? new { }, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task A_webhook_endpoint_added_over_http_receives_a_checkout_paid_over_http()
    {
        await using var h = await Harness.StartAsync(events: ["order.paid"]);
        await using var receiver = await WebhookReceiver.StartAsync(TestContext.Current.CancellationToken);
        var endpoint = await PostAsync(h, "_emulator/webhook-endpoints", new { url = receiver.Url.ToString(), secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", signing = "standard", events = new[] { "subscription.created" } });
        var checkout = await h.CreateCheckoutAsync();

        var paid = await PostAsync(h, $"_emulator/checkouts/{checkout["id"]}/pay", new { email = "http.user@gmail.com", name = "Http" });
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal("standard", endpoint["signing"]!.GetValue<string>());
        Assert.Equal(checkout["id"]!.GetValue<string>(), paid["checkout_id"]!.GetValue<string>());
        var webhook = Assert.Single(receiver.Received);
        Assert.Equal("subscription.created", webhook.Type);
        Assert.True(Signatures.VerifyStandard(webhook, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
        Assert.Equal(["order.paid"], h.ReceivedTypes());
    }

    [Fact]
    public async Task A_token_with_fewer_scopes_and_a_disabled_endpoint_can_be_made_over_http()
    {
        await using var h = await Harness.StartAsync();

        var token = await PostAsync(h, "_emulator/access-tokens", new { scopes = new[] { "subscriptions:read" } });
        var disabled = await PostAsync(h, $"_emulator/webhook-endpoints/{h.Endpoint.Id}/enable?enabled=false");
        using var limited = new PolarHttp(h.Emulator, token["token"]!.GetValue<string>());

        Assert.Equal(200, (await limited.GetAsync("v1/subscriptions/")).Status);
        Assert.Equal(403, (await limited.GetAsync("v1/webhooks/endpoints")).Status);
        Assert.False(disabled["enabled"]!.GetValue<bool>());
        Assert.False(h.Emulator.WebhookEndpoints.Single().Enabled);
    }

    [Fact]
    public async Task Advancing_the_clock_and_listing_deliveries_work_over_http()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.cycled"]);
        await h.SubscribeAsync();

        var advanced = await PostAsync(h, "_emulator/time/advance", new { days = 31 });
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var deliveries = JsonNode.Parse(await h.Http.Client.GetStringAsync(new Uri("_emulator/deliveries", UriKind.Relative), TestContext.Current.CancellationToken))!.AsArray();

        Assert.True(DateTimeOffset.Parse(advanced["now"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddDays(30));
        var delivery = Assert.Single(deliveries);
        Assert.Equal("subscription.cycled", delivery!["event_type"]!.GetValue<string>());
        Assert.Equal(202, delivery["status_code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Subscription_controls_over_http_answer_the_subscription_or_polars_error()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var pastDue = await PostAsync(h, $"_emulator/subscriptions/{result.SubscriptionId}/fail-renewal");
        var recovered = await PostAsync(h, $"_emulator/subscriptions/{result.SubscriptionId}/recover");
        var declining = await PostAsync(h, $"_emulator/subscriptions/{result.SubscriptionId}/decline-payments");
        var canceled = await PostAsync(h, $"_emulator/subscriptions/{result.SubscriptionId}/cancel");
        using var again = await h.Http.Client.PostAsync(new Uri($"_emulator/subscriptions/{result.SubscriptionId}/cancel", UriKind.Relative), null, TestContext.Current.CancellationToken);
        using var failAgain = await h.Http.Client.PostAsync(new Uri($"_emulator/subscriptions/{result.SubscriptionId}/fail-renewal", UriKind.Relative), null, TestContext.Current.CancellationToken);
        var revoked = await PostAsync(h, $"_emulator/subscriptions/{result.SubscriptionId}/revoke");

        Assert.Equal("past_due", pastDue["status"]!.GetValue<string>());
        Assert.Equal("active", recovered["status"]!.GetValue<string>());
        Assert.Equal("active", declining["status"]!.GetValue<string>());
        Assert.True(canceled["cancel_at_period_end"]!.GetValue<bool>());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, again.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, failAgain.StatusCode);
        Assert.Equal("canceled", revoked["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_fault_injected_over_http_answers_the_next_api_request()
    {
        await using var h = await Harness.StartAsync();

        await PostAsync(h, "_emulator/faults", new { method = "GET", path_prefix = "/v1/subscriptions/", status = 503 });
        var faulted = await h.Http.GetAsync("v1/subscriptions/");
        var normal = await h.Http.GetAsync("v1/subscriptions/");

        Assert.Equal(503, faulted.Status);
        Assert.Equal(200, normal.Status);
    }
}
