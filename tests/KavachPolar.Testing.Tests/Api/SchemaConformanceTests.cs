using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// Every REST response and every webhook body of a full scenario matches <c>openapi-subset.json</c>, and the emitted
/// objects have the fields of Polar's example payloads in the same order.
/// </summary>
public sealed class SchemaConformanceTests(SchemaConformanceTests.Scenario scenario) : IClassFixture<SchemaConformanceTests.Scenario>
{
    private static readonly HashSet<string> FreeFormKeys = ["metadata", "custom_field_data", "customer_metadata", "payment_processor_metadata", "benefit_metadata"];

    /// <summary>The full scenario, run once for the class.</summary>
    public sealed class Scenario : IAsyncLifetime
    {
        public Harness Harness { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Harness = await RunScenarioAsync();

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }

    private static async Task<Harness> RunScenarioAsync()
    {
        var h = await Harness.StartAsync();
        var http = h.Http;
        Assert.Equal(200, (await http.GetAsync($"v1/products/{h.Pro.Id}")).Status);
        var customer = await http.PostAsync("v1/customers/", "{\"email\":\"known@gmail.com\",\"name\":\"Known\",\"external_id\":\"usr_known\",\"metadata\":{\"tier\":\"gold\",\"n\":3}}");
        Assert.Equal(201, customer.Status);
        await http.GetAsync($"v1/customers/{customer["id"]}");
        await http.GetAsync("v1/customers/external/usr_known");
        await http.GetAsync($"v1/customers/{customer["id"]}/state");
        await http.GetAsync("v1/customers/external/usr_known/state");
        await http.PostAsync("v1/customer-sessions/", $"{{\"customer_id\":\"{customer["id"]}\",\"return_url\":\"https://app.kavach.dev/account\"}}");

        var linked = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer["id"], ["metadata"] = new JsonObject { ["kavach_user_id"] = "usr_known" } });
        await http.GetAsync($"v1/checkouts/{linked["id"]}");
        await http.PatchAsync($"v1/checkouts/{linked["id"]}", "{\"customer_name\":\"Known Person\",\"metadata\":{\"kavach_user_id\":\"usr_known\",\"step\":2}}");
        await h.Emulator.PayCheckoutAsync(linked["id"]!.GetValue<string>(), cancellationToken: TestContext.Current.CancellationToken);
        var fresh = await h.SubscribeAsync("fresh.user@gmail.com", new JsonObject
        {
            ["external_customer_id"] = "usr_fresh",
            ["success_url"] = "https://app.kavach.dev/ok?checkout_id={CHECKOUT_ID}",
            ["return_url"] = "https://app.kavach.dev/pricing",
            ["customer_name"] = "Fresh Ünïcode",
        });
        var trial = await h.SubscribeAsync("trial.user@gmail.com", productId: h.Trial.Id);
        await http.GetAsync("v1/checkouts/");
        await http.GetAsync("v1/subscriptions/?limit=100");
        await http.GetAsync($"v1/subscriptions/{fresh.SubscriptionId}");
        await http.PatchAsync($"v1/subscriptions/{fresh.SubscriptionId}", "{\"cancel_at_period_end\":true,\"customer_cancellation_reason\":\"unused\",\"customer_cancellation_comment\":\"bye\"}");
        await http.PatchAsync($"v1/subscriptions/{fresh.SubscriptionId}", "{\"cancel_at_period_end\":false}");
        await http.PatchAsync($"v1/subscriptions/{fresh.SubscriptionId}", "{\"metadata\":{\"k\":\"v\",\"flag\":true}}");
        var paused = await h.SubscribeAsync("paused.user@gmail.com");
        await http.PatchAsync($"v1/subscriptions/{paused.SubscriptionId}", "{\"pause_at_period_end\":true}");
        await h.Emulator.FailRenewalAsync(trial.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.RecoverRenewalAsync(trial.SubscriptionId, TestContext.Current.CancellationToken);
        await http.PatchAsync($"v1/subscriptions/{fresh.SubscriptionId}", "{\"cancel_at_period_end\":true}");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(40), TestContext.Current.CancellationToken);
        await http.DeleteAsync($"v1/subscriptions/{trial.SubscriptionId}");
        await http.PatchAsync($"v1/subscriptions/{paused.SubscriptionId}", "{\"resume\":true}");
        await http.GetAsync($"v1/subscriptions/{fresh.SubscriptionId}");
        await h.CreateCheckoutAsync();
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(2), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var order = h.Receiver.Received.First(r => r.Type == "order.paid");
        await http.GetAsync($"v1/orders/{JsonNode.Parse(order.Body)!["data"]!["id"]}");

        h.Emulator.EnableWebhookEndpoint(h.Emulator.AddWebhookEndpoint(new Uri("https://old-tunnel.trycloudflare.com/hook"), events: ["subscription.updated"]).Id, enabled: false);
        await http.GetAsync("v1/webhooks/endpoints");
        await http.GetAsync($"v1/webhooks/endpoints/{h.Endpoint.Id}");
        await http.GetAsync($"v1/organizations/{h.Emulator.OrganizationId}");
        await http.GetAsync($"v1/organizations/{Guid.NewGuid()}");

        await http.GetAsync($"v1/subscriptions/{Guid.NewGuid()}");
        await http.PostAsync("v1/checkouts/", "{}");
        await http.GetAsync("v1/subscriptions/?status=nope");
        return h;
    }

    [Fact]
    public async Task Every_webhook_body_of_a_full_scenario_matches_its_openapi_payload_schema()
    {
        var h = scenario.Harness;

        var types = h.Receiver.Received.Select(r => r.Type).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "checkout.created", "checkout.updated", "checkout.expired", "customer.created", "customer.state_changed", "order.created", "order.updated", "order.paid",
            "subscription.created", "subscription.active", "subscription.updated", "subscription.canceled", "subscription.uncanceled",
            "subscription.cycled", "subscription.revoked", "subscription.past_due", "subscription.paused", "subscription.resumed",
        }, types);
        foreach (var webhook in h.Receiver.Received)
        {
            OpenApiSchemas.Instance.AssertValid(OpenApiSchemas.Instance.WebhookComponent(webhook.Type), webhook.BodyText, webhook.Type);
        }
    }

    [Fact]
    public async Task Every_rest_response_of_a_full_scenario_matches_the_operations_response_schema()
    {
        var h = scenario.Harness;

        var checkedCount = 0;
        foreach (var (path, method, status, body) in h.Http.Responses)
        {
            var component = SchemaPaths.ResponseComponent(path, method, status);
            if (component is null)
            {
                continue;
            }

            OpenApiSchemas.Instance.AssertValid(component, body, $"{method} {path} -> {status}");
            checkedCount++;
        }

        Assert.True(checkedCount >= 25, $"only {checkedCount} responses were checked");
    }

    [Theory]
    [InlineData("checkout.created.json", "checkout.created")]
    [InlineData("checkout.updated.json", "checkout.updated")]
    [InlineData("subscription.created.json", "subscription.created")]
    [InlineData("subscription.canceled.json", "subscription.canceled")]
    [InlineData("subscription.revoked.json", "subscription.revoked")]
    [InlineData("subscription.cycled.json", "subscription.cycled")]
    [InlineData("subscription.past_due.json", "subscription.past_due")]
    [InlineData("order.paid.json", "order.paid")]
    [InlineData("customer.state_changed.json", "customer.state_changed")]
    public async Task Emitted_objects_have_the_example_payloads_fields_in_the_same_order(string file, string type)
    {
        var h = scenario.Harness;
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", file)))!;

        var emitted = h.Receiver.Received.Where(r => r.Type == type).Select(r => JsonNode.Parse(r.Body)!)
            .First(e => type != "customer.state_changed" || e["data"]!["active_subscriptions"]!.AsArray().Count == 1);

        AssertSameShape(example, emitted, "$");
    }

    private static void AssertSameShape(JsonNode expected, JsonNode actual, string path)
    {
        if (expected is JsonObject e && actual is JsonObject a)
        {
            Assert.True(e.Select(p => p.Key).SequenceEqual(a.Select(p => p.Key)),
                $"{path}: expected keys [{string.Join(",", e.Select(p => p.Key))}] but got [{string.Join(",", a.Select(p => p.Key))}]");
            foreach (var (key, value) in e)
            {
                // A benefit's or a grant's properties depend on the benefit's type (the examples' are a custom benefit's).
                var perType = key == "properties" && (path.EndsWith(".benefits[0]", StringComparison.Ordinal) || path.EndsWith(".granted_benefits[0]", StringComparison.Ordinal));
                if (!FreeFormKeys.Contains(key) && !perType && !(path.EndsWith(".data", StringComparison.Ordinal) && key == "prices" && value is JsonObject) && value is not null && a[key] is { } other)
                {
                    AssertSameShape(value, other, $"{path}.{key}");
                }
            }
        }
        else if (expected is JsonArray ea && actual is JsonArray aa && ea.Count > 0 && aa.Count > 0)
        {
            AssertSameShape(ea[0]!, aa[0]!, path + "[0]");
        }
    }
}
