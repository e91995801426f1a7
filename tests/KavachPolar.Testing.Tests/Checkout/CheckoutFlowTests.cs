using System.Net;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Checkout;

public sealed class CheckoutFlowTests
{
    private static readonly string[] PaidCheckoutSequence =
    [
        "checkout.created",
        "checkout.updated",
        "customer.created",
        "customer.state_changed",
        "subscription.created",
        "subscription.active",
        "subscription.updated",
        "order.created",
        "order.updated",
        "order.paid",
        "checkout.updated",
        "benefit_grant.created", // Pro's three benefits, granted once the subscription is active
        "benefit_grant.created",
        "benefit_grant.created",
        "customer.state_changed",
    ];

    [Fact]
    public async Task Creating_a_checkout_answers_201_with_polars_url_client_secret_expiry_and_success_url()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["success_url"] = "https://app.kavach.dev/done?checkout_id={CHECKOUT_ID}" });

        var id = checkout["id"]!.GetValue<string>();
        var secret = checkout["client_secret"]!.GetValue<string>();
        Assert.Equal(4, Guid.Parse(id).Version);
        Assert.Matches("^polar_c_[A-Za-z0-9]{43}$", secret);
        Assert.Equal($"{h.Emulator.BaseUrl}checkout/{secret}", checkout["url"]!.GetValue<string>());
        Assert.Equal($"https://app.kavach.dev/done?checkout_id={id}", checkout["success_url"]!.GetValue<string>());
        Assert.Equal("open", checkout["status"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromHours(24), DateTimeOffset.Parse(checkout["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.Parse(checkout["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(h.Pro.Id, checkout["product_id"]!.GetValue<string>());
        Assert.Equal(1900, checkout["amount"]!.GetValue<long>());
    }

    [Fact]
    public async Task An_escaped_checkout_id_placeholder_is_replaced_like_the_plain_one()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["success_url"] = "https://app.kavach.dev/done/%7BCHECKOUT_ID%7D" });

        Assert.Equal($"https://app.kavach.dev/done/{checkout["id"]}", checkout["success_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_a_success_url_the_default_is_the_hosted_confirmation_page()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync();

        Assert.Equal($"{checkout["url"]}/confirmation", checkout["success_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task Paying_emits_polars_event_sequence_each_signed_with_the_endpoint_secret()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.SubscribeAsync(fields: new JsonObject { ["metadata"] = new JsonObject { ["kavach_user_id"] = "usr_42" } });

        Assert.Equal(PaidCheckoutSequence, h.ReceivedTypes());
        Assert.All(h.Receiver.Received, r => Assert.True(Signatures.VerifyLegacy(r, h.Endpoint.Secret), $"{r.Type} signature"));
        Assert.Equal(h.Receiver.Received.Count, h.Receiver.Received.Select(r => r.Id).Distinct().Count());
        var confirmed = JsonNode.Parse(h.Receiver.Received[1].Body)!["data"]!;
        Assert.Equal("confirmed", confirmed["status"]!.GetValue<string>());
        var succeeded = JsonNode.Parse(h.Receiver.Received[10].Body)!["data"]!;
        Assert.Equal("succeeded", succeeded["status"]!.GetValue<string>());
        Assert.Equal(result.CustomerId, succeeded["customer_id"]!.GetValue<string>());
        var created = JsonNode.Parse(h.Receiver.Received[4].Body)!["data"]!;
        Assert.Equal("usr_42", created["metadata"]!["kavach_user_id"]!.GetValue<string>());
        Assert.Equal(result.SubscriptionId, created["id"]!.GetValue<string>());
        Assert.Null(created["modified_at"]);
        Assert.Equal(created.ToJsonString(), JsonNode.Parse(h.Receiver.Received[5].Body)!["data"]!.ToJsonString());
        Assert.Equal(created.ToJsonString(), JsonNode.Parse(h.Receiver.Received[6].Body)!["data"]!.ToJsonString());
        var finalState = JsonNode.Parse(h.Receiver.Received[14].Body)!["data"]!;
        Assert.Equal(result.SubscriptionId, finalState["active_subscriptions"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Webhook_requests_carry_polars_headers_and_a_compact_envelope()
    {
        await using var h = await Harness.StartAsync();

        await h.SubscribeAsync();

        var first = h.Receiver.Received[0];
        Assert.Equal("polar.sh webhooks", first.Headers["user-agent"]);
        Assert.Equal("application/json", first.Headers["content-type"]);
        Assert.Equal(4, Guid.Parse(first.Id).Version);
        Assert.InRange(first.Timestamp, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Matches("^v1,[A-Za-z0-9+/]{43}=$", first.Signature);
        Assert.StartsWith("{\"type\":\"checkout.created\",\"timestamp\":\"", first.BodyText, StringComparison.Ordinal);
        Assert.Contains("\"api_version\":\"2026-10\",\"data\":{\"id\":", first.BodyText, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", first.BodyText, StringComparison.Ordinal);
        Assert.Matches("\"timestamp\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?Z\"", first.BodyText);
    }

    [Fact]
    public async Task Standard_mode_endpoints_are_signed_with_the_decoded_secret()
    {
        await using var h = await Harness.StartAsync(mode: KavachPolar.Testing.Webhooks.PolarWebhookSigningMode.Standard);

        await h.SubscribeAsync();

        Assert.StartsWith("whsec_", h.Endpoint.Secret, StringComparison.Ordinal);
        Assert.All(h.Receiver.Received, r => Assert.True(Signatures.VerifyStandard(r, h.Endpoint.Secret)));
        Assert.All(h.Receiver.Received, r => Assert.False(Signatures.VerifyLegacy(r, h.Endpoint.Secret)));
    }

    [Fact]
    public async Task The_reference_legacy_secret_signs_deliveries_the_reference_verifier_accepts()
    {
        using var vectors = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "signature-test-vectors.json")));
        var legacy = vectors.RootElement.GetProperty("vectors").EnumerateArray().First(v => v.GetProperty("mode").GetString()!.StartsWith("legacy", StringComparison.Ordinal));
        var secret = legacy.GetProperty("secret").GetString()!;
        await using var h = await Harness.StartAsync(secret: secret);

        await h.SubscribeAsync();

        Assert.Equal(secret, h.Endpoint.Secret);
        Assert.All(h.Receiver.Received, r => Assert.True(Signatures.VerifyLegacy(r, secret)));
    }

    [Fact]
    public async Task The_hosted_page_shows_the_product_and_a_form_that_works_without_javascript()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_email"] = "jane.doe@gmail.com" });

        var html = await h.Http.Client.GetStringAsync(new Uri(checkout["url"]!.GetValue<string>()), TestContext.Current.CancellationToken);

        Assert.Contains("id=\"product-name\">Pro<", html, StringComparison.Ordinal);
        Assert.Contains("$19.00", html, StringComparison.Ordinal);
        Assert.Contains("id=\"email\" name=\"email\"", html, StringComparison.Ordinal);
        Assert.Contains("value=\"jane.doe@gmail.com\"", html, StringComparison.Ordinal);
        Assert.Contains("<form id=\"checkout-form\" method=\"post\"", html, StringComparison.Ordinal);
        Assert.Contains("id=\"pay\" type=\"submit\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=\"http", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Posting_the_hosted_form_pays_and_redirects_303_to_the_success_url()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["success_url"] = "https://app.kavach.dev/ok?id={CHECKOUT_ID}" });

        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "sam@fastmail.com", ["name"] = "Sam", ["card"] = "4242 4242 4242 4242" });
        using var response = await h.Http.Client.PostAsync(new Uri(checkout["url"]!.GetValue<string>()), form, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal($"https://app.kavach.dev/ok?id={checkout["id"]}", response.Headers.Location!.ToString());
        Assert.Equal(PaidCheckoutSequence, h.ReceivedTypes());
        Assert.Equal("sam@fastmail.com", h.Emulator.Customers.Single().Email);
        var after = await h.Http.GetAsync($"v1/checkouts/{checkout["id"]}");
        Assert.Equal("succeeded", after["status"]);
    }

    [Fact]
    public async Task The_hosted_form_refuses_an_undeliverable_email_and_shows_why()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync();

        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "jane@example.com", ["name"] = "Jane" });
        using var response = await h.Http.Client.PostAsync(new Uri(checkout["url"]!.GetValue<string>()), form, TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("id=\"error\"", html, StringComparison.Ordinal);
        Assert.Contains("does not accept email", html, StringComparison.Ordinal);
        Assert.Empty(h.Emulator.Customers);
    }

    [Fact]
    public async Task A_paid_checkout_cannot_be_paid_again()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var e = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.PayCheckoutAsync(result.CheckoutId, "jane.doe@gmail.com", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(403, e.StatusCode);
        Assert.Contains("NotOpenCheckout", e.ErrorBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_product_with_a_trial_starts_a_trialing_subscription_whose_period_ends_with_the_trial()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.SubscribeAsync(productId: h.Trial.Id);

        var subscription = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        Assert.Equal("trialing", subscription["status"]!.GetValue<string>());
        Assert.Equal(subscription["trial_end"]!.GetValue<string>(), subscription["current_period_end"]!.GetValue<string>());
        Assert.Equal(
            TimeSpan.FromDays(14),
            DateTimeOffset.Parse(subscription["trial_end"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.Parse(subscription["trial_start"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("subscription.active", h.ReceivedTypes());
    }

    [Fact]
    public async Task Checkouts_expire_after_24_hours_with_a_checkout_expired_event()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync();

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromHours(25), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["checkout.created", "checkout.expired"], h.ReceivedTypes());
        Assert.Equal("expired", (await h.Http.GetAsync($"v1/checkouts/{checkout["id"]}"))["status"]);
        await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "jane.doe@gmail.com", cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Patching_an_open_checkout_updates_it_and_sends_checkout_updated()
    {
        await using var h = await Harness.StartAsync(events: ["checkout.updated"]);
        var team = h.Emulator.Products.Single(p => p.Name == "Team").Id;
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["products"] = new JsonArray(h.Pro.Id, team) });

        var response = await h.Http.PatchAsync($"v1/checkouts/{checkout["id"]}", new JsonObject
        {
            ["product_id"] = team,
            ["customer_email"] = "patched@gmail.com",
            ["metadata"] = new JsonObject { ["step"] = "2" },
        }.ToJsonString());
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, response.Status);
        Assert.Equal(team, response["product_id"]);
        Assert.Equal(4900, response.Json["amount"]!.GetValue<long>());
        Assert.Equal("patched@gmail.com", response["customer_email"]);
        Assert.Equal("{\"step\":\"2\"}", response.Json["metadata"]!.ToJsonString());
        Assert.Equal("open", JsonNode.Parse(Assert.Single(h.Receiver.Received).Body)!["data"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Patching_a_checkout_that_is_not_open_is_forbidden_and_a_foreign_product_is_refused()
    {
        await using var h = await Harness.StartAsync();
        var open = await h.CreateCheckoutAsync();
        var paid = await h.SubscribeAsync();

        var foreign = await h.Http.PatchAsync($"v1/checkouts/{open["id"]}", new JsonObject { ["product_id"] = h.Trial.Id }.ToJsonString());
        var closed = await h.Http.PatchAsync($"v1/checkouts/{paid.CheckoutId}", "{\"customer_name\":\"Late\"}");

        Assert.Equal(422, foreign.Status);
        Assert.Equal("[\"body\",\"product_id\"]", foreign.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal(403, closed.Status);
        Assert.Equal("NotOpenCheckout", closed["error"]);
    }
}
