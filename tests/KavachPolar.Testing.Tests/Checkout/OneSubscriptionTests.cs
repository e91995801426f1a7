using System.Net;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Checkout;

/// <summary>
/// Polar's organization default <c>allow_multiple_subscriptions = false</c>: a customer with a billable subscription
/// can open a checkout but cannot pay it (checkout service <c>_validate_subscription_uniqueness</c>).
/// </summary>
public sealed class OneSubscriptionTests
{
    private const string RefusedBody = "{\"error\":\"AlreadyActiveSubscriptionError\",\"detail\":\"You already have an active subscription.\"}";

    [Fact]
    public async Task The_hosted_page_refuses_to_pay_a_second_checkout_for_a_subscribed_customer_though_creating_it_succeeds()
    {
        await using var h = await Harness.StartAsync();
        var first = await h.SubscribeAsync("one.sub@gmail.com");
        var seen = h.Receiver.Received.Count;

        var second = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Team.Id), ["customer_id"] = first.CustomerId }.ToJsonString());
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "one.sub@gmail.com", ["name"] = "One", ["card"] = "4242 4242 4242 4242" });
        using var response = await h.Http.Client.PostAsync(new Uri(second["url"]), form, TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(201, second.Status);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("You already have an active subscription.", html, StringComparison.Ordinal);
        Assert.Equal("open", (await h.Http.GetAsync($"v1/checkouts/{second["id"]}"))["status"]);
        Assert.Equal(["checkout.created"], h.ReceivedTypes(seen));
        Assert.Single((await h.Http.GetAsync($"v1/subscriptions/?customer_id={first.CustomerId}")).Json["items"]!.AsArray());
    }

    [Fact]
    public async Task The_pay_control_answers_polars_403_body_for_a_checkout_whose_email_belongs_to_a_subscribed_customer()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync("by.email@gmail.com");
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_email"] = "By.Email@gmail.com" });

        using var response = await h.Http.Client.PostAsync(new Uri($"_emulator/checkouts/{second["id"]}/pay", UriKind.Relative), null, TestContext.Current.CancellationToken);

        Assert.Null(second["customer_id"]);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(RefusedBody, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Single(h.Emulator.Customers);
    }

    [Fact]
    public async Task Updating_a_checkout_with_a_subscribed_customers_email_is_refused_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync("patched@gmail.com");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_email"] = "someone.new@gmail.com" });

        var response = await h.Http.PatchAsync($"v1/checkouts/{checkout["id"]}", "{\"customer_email\":\"patched@gmail.com\"}");

        Assert.Equal(403, response.Status);
        Assert.Equal(RefusedBody, response.Body);
        Assert.Equal("someone.new@gmail.com", (await h.Http.GetAsync($"v1/checkouts/{checkout["id"]}"))["customer_email"]);
    }

    [Fact]
    public async Task A_trialing_subscription_counts_as_live()
    {
        await using var h = await Harness.StartAsync();
        var trial = await h.SubscribeAsync("trialing@gmail.com", productId: h.Trial.Id);
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = trial.CustomerId });

        var e = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.PayCheckoutAsync(second["id"]!.GetValue<string>(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("trialing", JsonNode.Parse(h.Emulator.GetSubscriptionJson(trial.SubscriptionId))!["status"]!.GetValue<string>());
        Assert.Equal(403, e.StatusCode);
        Assert.Equal(RefusedBody, e.ErrorBody);
    }

    [Fact]
    public async Task A_subscription_scheduled_to_cancel_still_blocks_a_new_one_until_it_ends()
    {
        await using var h = await Harness.StartAsync();
        var first = await h.SubscribeAsync("leaving@gmail.com");
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{first.SubscriptionId}", "{\"cancel_at_period_end\":true}")).Status);
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = first.CustomerId });

        var refused = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.PayCheckoutAsync(second["id"]!.GetValue<string>(), cancellationToken: TestContext.Current.CancellationToken));
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), TestContext.Current.CancellationToken);
        var third = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = first.CustomerId });
        var paid = await h.Emulator.PayCheckoutAsync(third["id"]!.GetValue<string>(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(403, refused.StatusCode);
        Assert.Equal(first.CustomerId, paid.CustomerId);
        Assert.NotEqual(first.SubscriptionId, paid.SubscriptionId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_customer_whose_only_subscription_was_revoked_can_subscribe_again(bool throughTheHostedPage)
    {
        await using var h = await Harness.StartAsync();
        var first = await h.SubscribeAsync("comeback@gmail.com");
        Assert.Equal(200, (await h.Http.DeleteAsync($"v1/subscriptions/{first.SubscriptionId}")).Status);
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = first.CustomerId });

        if (throughTheHostedPage)
        {
            using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "comeback@gmail.com", ["card"] = "4242 4242 4242 4242" });
            using var response = await h.Http.Client.PostAsync(new Uri(second["url"]!.GetValue<string>()), form, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        }
        else
        {
            await h.Emulator.PayCheckoutAsync(second["id"]!.GetValue<string>(), cancellationToken: TestContext.Current.CancellationToken);
        }

        var subscriptions = (await h.Http.GetAsync($"v1/subscriptions/?customer_id={first.CustomerId}")).Json["items"]!.AsArray();
        Assert.Equal(["active", "canceled"], subscriptions.Select(s => s!["status"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("succeeded", (await h.Http.GetAsync($"v1/checkouts/{second["id"]}"))["status"]);
    }

    [Fact]
    public async Task With_allow_multiple_subscriptions_a_customer_can_hold_two()
    {
        await using var h = await Harness.StartAsync(o => o.AllowMultipleSubscriptions = true);
        var first = await h.SubscribeAsync("many@gmail.com");
        var second = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = first.CustomerId }, h.Team.Id);

        var updated = await h.Http.PatchAsync($"v1/checkouts/{second["id"]}", "{\"customer_name\":\"Many\"}");
        using var response = await h.Http.Client.PostAsync(new Uri($"_emulator/checkouts/{second["id"]}/pay", UriKind.Relative), null, TestContext.Current.CancellationToken);

        Assert.Equal(200, updated.Status);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var subscriptions = (await h.Http.GetAsync($"v1/subscriptions/?customer_id={first.CustomerId}&status=active")).Json["items"]!.AsArray();
        Assert.Equal(2, subscriptions.Count);
    }
}
