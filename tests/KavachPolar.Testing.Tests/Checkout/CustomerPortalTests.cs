using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Checkout;

/// <summary>
/// The hosted customer portal behind a customer session: what it shows, and its cancel and uncancel actions, which
/// go through the same subscription logic as <c>PATCH /v1/subscriptions/{id}</c> and send the same webhooks.
/// </summary>
public sealed class CustomerPortalTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_portal_shows_the_subscription_with_its_renewal_date_a_link_back_and_the_order_with_its_invoice()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (url, _) = await SessionAsync(h, paid.CustomerId, "https://app.kavach.dev/account");

        using var response = await h.Http.Client.GetAsync(new Uri(url), Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<a id=\"return\" href=\"https://app.kavach.dev/account\">← Back to Emulator</a>", html, StringComparison.Ordinal);
        Assert.Contains($"id=\"subscription-{paid.SubscriptionId}\" data-status=\"active\" data-cancel-at-period-end=\"false\"", html, StringComparison.Ordinal);
        Assert.Contains("<h3 class=\"sub-product\">Pro</h3>", html, StringComparison.Ordinal);
        Assert.Contains("$19.00 / month", html, StringComparison.Ordinal);
        var end = (await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}"))["current_period_end"];
        Assert.Contains("Renews on " + Date(end), html, StringComparison.Ordinal);
        Assert.Contains($"action=\"/emulator/portal/subscriptions/{paid.SubscriptionId}/cancel\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("/uncancel\"", html, StringComparison.Ordinal);
        var order = Assert.Single(Orders(h, paid.CustomerId));
        Assert.Contains($"href=\"/emulator/portal/orders/{order}/invoice?customer_session_token=", html, StringComparison.Ordinal);
        Assert.Contains("rel=\"icon\" href=\"/favicon.ico\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_trial_in_the_portal_shows_when_its_first_charge_is_due()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync(productId: h.Trial.Id);
        var (url, _) = await SessionAsync(h, paid.CustomerId, null);

        var html = await h.Http.Client.GetStringAsync(new Uri(url), Ct);

        var trialEnd = (await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}"))["trial_end"];
        Assert.Contains("First charge on " + Date(trialEnd), html, StringComparison.Ordinal);
        Assert.DoesNotContain("Renews on", html, StringComparison.Ordinal);
        // No return URL in the session: no link back, as in Polar's portal.
        Assert.DoesNotContain("id=\"return\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_in_the_portal_schedules_it_at_period_end_with_the_reason_and_sends_the_webhooks_of_the_API_cancel()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (url, token) = await SessionAsync(h, paid.CustomerId, null);
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", token, ("cancellation_reason", "too_expensive"), ("cancellation_comment", "Half the price, please."));
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(StripEmail(new Uri(url).PathAndQuery), response.Headers.Location!.ToString());
        var subscription = await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}");
        Assert.Equal("true", subscription["cancel_at_period_end"]);
        Assert.Equal("active", subscription["status"]);
        Assert.Equal("too_expensive", subscription["customer_cancellation_reason"]);
        Assert.Equal("Half the price, please.", subscription["customer_cancellation_comment"]);
        var portalTypes = h.ReceivedTypes(seen);

        // The API's cancel, after an uncancel, sends the same events.
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{paid.SubscriptionId}", "{\"cancel_at_period_end\":false}")).Status);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var before = h.Receiver.Received.Count;
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{paid.SubscriptionId}", "{\"cancel_at_period_end\":true}")).Status);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        Assert.Equal(["subscription.updated", "subscription.canceled", "customer.state_changed"], portalTypes);
        Assert.Equal(portalTypes, h.ReceivedTypes(before));
    }

    [Fact]
    public async Task After_a_cancellation_the_portal_offers_uncancel_which_sends_the_webhooks_of_the_API_uncancel()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (url, token) = await SessionAsync(h, paid.CustomerId, null);
        using (await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", token))
        {
        }

        var end = (await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}"))["current_period_end"];
        var html = await h.Http.Client.GetStringAsync(new Uri(url), Ct);
        Assert.Contains("data-cancel-at-period-end=\"true\"", html, StringComparison.Ordinal);
        Assert.Contains("Ends on " + Date(end), html, StringComparison.Ordinal);
        Assert.Contains($"action=\"/emulator/portal/subscriptions/{paid.SubscriptionId}/uncancel\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("/cancel\"", html, StringComparison.Ordinal);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/uncancel", token);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var subscription = await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}");
        Assert.Equal("false", subscription["cancel_at_period_end"]);
        Assert.Equal(["subscription.updated", "subscription.uncanceled", "customer.state_changed"], h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task Cancelling_twice_in_the_portal_shows_polars_refusal_and_sends_nothing()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (_, token) = await SessionAsync(h, paid.CustomerId, null);
        using (await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", token))
        {
        }

        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", token);
        var html = await response.Content.ReadAsStringAsync(Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("id=\"error\" role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Contains("already canceled", html, StringComparison.Ordinal);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task Uncancelling_a_subscription_without_a_scheduled_cancellation_is_refused_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (_, token) = await SessionAsync(h, paid.CustomerId, null);
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/uncancel", token);
        var html = await response.Content.ReadAsStringAsync(Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("id=\"error\" role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Contains("is not set to cancel", html, StringComparison.Ordinal);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task An_unknown_cancellation_reason_is_refused_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (_, token) = await SessionAsync(h, paid.CustomerId, null);
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", token, ("cancellation_reason", "bored"));
        var html = await response.Content.ReadAsStringAsync(Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("id=\"error\" role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Contains("&#39;too_expensive&#39;", html, StringComparison.Ordinal);
        Assert.Equal("false", (await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}"))["cancel_at_period_end"]);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task Portal_actions_without_a_live_session_are_refused_with_401_and_change_nothing()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        using var response = await PostFormAsync(h, $"emulator/portal/subscriptions/{paid.SubscriptionId}/cancel", "polar_cst_not_a_session");
        var html = await response.Content.ReadAsStringAsync(Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("This link has expired", html, StringComparison.Ordinal);
        Assert.Equal("false", (await h.Http.GetAsync($"v1/subscriptions/{paid.SubscriptionId}"))["cancel_at_period_end"]);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task A_customer_cannot_cancel_or_read_the_invoice_of_another_customer_in_the_portal()
    {
        await using var h = await Harness.StartAsync();
        var victim = await h.SubscribeAsync("victim.person@gmail.com");
        var other = await h.SubscribeAsync("other.person@gmail.com");
        var (_, token) = await SessionAsync(h, other.CustomerId, null);
        var seen = h.Receiver.Received.Count;

        using var cancel = await PostFormAsync(h, $"emulator/portal/subscriptions/{victim.SubscriptionId}/cancel", token);
        using var invoice = await h.Http.Client.GetAsync(new Uri(h.Emulator.BaseUrl, $"emulator/portal/orders/{Orders(h, victim.CustomerId).Single()}/invoice?customer_session_token={token}"), Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, invoice.StatusCode);
        Assert.Equal("false", (await h.Http.GetAsync($"v1/subscriptions/{victim.SubscriptionId}"))["cancel_at_period_end"]);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task The_invoice_of_an_order_shows_its_number_product_and_total_and_links_back_to_the_portal()
    {
        await using var h = await Harness.StartAsync();
        var paid = await h.SubscribeAsync();
        var (_, token) = await SessionAsync(h, paid.CustomerId, null);
        var orderId = Orders(h, paid.CustomerId).Single();
        var order = await h.Http.GetAsync($"v1/orders/{orderId}");

        using var response = await h.Http.Client.GetAsync(new Uri(h.Emulator.BaseUrl, $"emulator/portal/orders/{orderId}/invoice?customer_session_token={token}"), Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"<h1 id=\"invoice-number\">Invoice {order["invoice_number"]}</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<td>Pro</td>", html, StringComparison.Ordinal);
        Assert.Contains("id=\"invoice-total\">$19.00<", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"/emulator/portal?customer_session_token={token}\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_emulator_serves_an_svg_favicon_that_its_pages_link()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync();

        using var icon = await h.Http.Client.GetAsync(new Uri(h.Emulator.BaseUrl, "favicon.ico"), Ct);
        var page = await h.Http.Client.GetStringAsync(new Uri(checkout["url"]!.GetValue<string>()), Ct);

        Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
        Assert.Equal("image/svg+xml", icon.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<svg", await icon.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("<link rel=\"icon\" href=\"/favicon.ico\" type=\"image/svg+xml\">", page, StringComparison.Ordinal);
    }

    private static async Task<(string Url, string Token)> SessionAsync(Harness h, string customerId, string? returnUrl)
    {
        var body = new JsonObject { ["customer_id"] = customerId };
        if (returnUrl is not null)
        {
            body["return_url"] = returnUrl;
        }

        var session = await h.Http.PostAsync("v1/customer-sessions/", body.ToJsonString());
        Assert.Equal(201, session.Status);
        return (session["customer_portal_url"], session["token"]);
    }

    private static Task<HttpResponseMessage> PostFormAsync(Harness h, string path, string token, params (string Name, string Value)[] fields)
    {
        var form = new FormUrlEncodedContent([new("customer_session_token", token), .. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))]);
        return h.Http.Client.PostAsync(new Uri(h.Emulator.BaseUrl, path), form, Ct);
    }

    /// <summary>The ids of the customer's orders, from the <c>order.created</c> webhooks received.</summary>
    private static List<string> Orders(Harness h, string customerId) =>
        h.Receiver.Received.Where(r => r.Type == "order.created")
            .Select(r => JsonNode.Parse(r.BodyText)!["data"]!)
            .Where(d => d["customer_id"]!.GetValue<string>() == customerId)
            .Select(d => d["id"]!.GetValue<string>())
            .ToList();

    /// <summary>The portal URL without its <c>email</c> parameter, which only prefills Polar's sign-in form.</summary>
    private static string StripEmail(string url) => url.Split("&email=")[0];

    private static string Date(string iso) =>
        DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture).UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);
}
