using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Security;

/// <summary>
/// A payment lands on the user who made it and nobody else, against a Polar stand-in that, like Polar, reuses an
/// existing customer by the email typed on its checkout page.
/// </summary>
public sealed class AttributionTests : PolarAppTest
{
    [Fact]
    public async Task A_stranger_typing_the_victims_email_on_polars_checkout_page_pays_for_themselves_and_the_victim_keeps_their_plan()
    {
        using var victim = App.ClientFor("victim", "victim.person@gmail.com");
        var victimCheckout = await CheckoutAsync(victim, Polar.Products[1].Id);
        var victimPayment = await Polar.PayCheckoutAsync(victimCheckout.Id, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        // The stranger signs up with their own email, then types the victim's on Polar's hosted page.
        using var stranger = App.ClientFor("stranger", "stranger.person@gmail.com");
        var strangerCheckout = await CheckoutAsync(stranger, Polar.Products[0].Id);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var page = await browser.PostAsync(strangerCheckout.Url, new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "victim.person@gmail.com", ["name"] = "Stranger", ["card"] = "4242 4242 4242 4242" }), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, page.StatusCode);
        await Polar.WaitForDeliveriesAsync(Ct);

        var victimNow = await SubscriptionAsync(victim);
        Assert.Equal(victimPayment.SubscriptionId, (string?)victimNow!["id"]);
        Assert.Equal(Polar.Products[1].Id, (string?)victimNow["productId"]);
        var strangerNow = await SubscriptionAsync(stranger);
        Assert.NotNull(strangerNow);
        Assert.NotEqual(victimPayment.SubscriptionId, (string?)strangerNow!["id"]);
        Assert.Equal(Polar.Products[0].Id, (string?)strangerNow["productId"]);
        Assert.DoesNotContain(App.Changes, c => c.UserId == "victim" && c.Current?.Id == (string?)strangerNow["id"]);

        // Reconciling, by user or by checkout, changes nothing of that.
        Assert.Equal(HttpStatusCode.OK, (await stranger.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await stranger.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId = strangerCheckout.Id }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await victim.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Equal(victimPayment.SubscriptionId, (string?)(await SubscriptionAsync(victim))!["id"]);
        Assert.Equal((string?)strangerNow["id"], (string?)(await SubscriptionAsync(stranger))!["id"]);
    }

    [Fact]
    public async Task Every_checkout_sent_to_polar_carries_a_server_chosen_customer()
    {
        var users = new[] { ("u-1", "first.user@gmail.com"), ("u-2", "second.user@gmail.com"), ("u-3", "third.user@gmail.com") };
        Polar.CreateCustomer("third.user@gmail.com", externalId: "u-3");
        foreach (var (id, email) in users)
        {
            using var client = App.ClientFor(id, email);
            await CheckoutAsync(client, Polar.Products[0].Id);
        }

        var checkouts = await PolarRest.CheckoutsAsync(Polar, Ct);
        Assert.Equal(3, checkouts.Count);
        foreach (var checkout in checkouts)
        {
            var customer = Polar.Customers.Single(c => c.Id == (string?)checkout["customer_id"]);
            Assert.Equal((string?)checkout["metadata"]!["kavach_user_id"], customer.ExternalId);
        }
    }

    [Fact]
    public async Task Reconcile_by_checkout_applies_only_that_checkouts_subscription_on_a_customer_with_several()
    {
        var options = new PolarEmulatorOptions { AllowMultipleSubscriptions = true };
        await using var polar = await PolarEmulator.StartAsync(options, Ct);
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AllowMultipleSubscriptions"] = "true" } });

        // No webhooks reach this app: what it knows comes from reconcile only.
        using var client = app.ClientFor("multi", "multi.user@gmail.com");
        var first = await CheckoutAsync(client, polar.Products[0].Id);
        var firstPayment = await polar.PayCheckoutAsync(first.Id, cancellationToken: Ct);
        var second = await CheckoutAsync(client, polar.Products[1].Id);
        var secondPayment = await polar.PayCheckoutAsync(second.Id, cancellationToken: Ct);
        Assert.Equal(firstPayment.CustomerId, secondPayment.CustomerId);

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId = first.Id }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = await Db.QueryColumnAsync<string>($"SELECT id FROM kavach_polar_subscriptions WHERE customer_id = '{firstPayment.CustomerId}'", Ct);
        Assert.Equal([firstPayment.SubscriptionId], stored);
    }

    [Fact]
    public async Task Reconcile_by_another_users_checkout_is_not_found_and_applies_nothing()
    {
        using var owner = App.ClientFor("owner", "owner.person@gmail.com");
        var checkout = await CheckoutAsync(owner, Polar.Products[0].Id);
        Polar.HoldDeliveries();
        await Polar.PayCheckoutAsync(checkout.Id, cancellationToken: Ct);

        using var other = App.ClientFor("other", "other.person@gmail.com");
        var response = await other.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId = checkout.Id }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
    }

    [Fact]
    public async Task A_forgotten_user_is_never_recreated_by_the_events_their_customer_keeps_sending()
    {
        using var client = App.ClientFor("leaver", "leaver.person@gmail.com");
        var checkout = await CheckoutAsync(client, Polar.Products[0].Id);
        var payment = await Polar.PayCheckoutAsync(checkout.Id, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.NotNull(await SubscriptionAsync(client));

        await using (var scope = App.Services.CreateAsyncScope())
        {
            Assert.True(await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ForgetUserAsync("leaver", Ct));
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users WHERE id = 'leaver'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
        Assert.Equal(payment.CustomerId, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_polar_forgotten_users WHERE user_id = 'leaver'", Ct));

        // The customer keeps sending events; they are acknowledged and recorded, and change nothing.
        await Polar.CancelSubscriptionAsync(payment.SubscriptionId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.All(Polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode}"));
        Assert.True(await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE outcome = 'forgotten'", Ct) >= 2);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));

        // Nor does a reconcile, and the id cannot check out again while the tombstone stands.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        await CheckoutEndpointTests.AssertProblemAsync(
            await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[0].Id }, Ct),
            HttpStatusCode.Conflict,
            "user_forgotten");
        Assert.Single(await PolarRest.CheckoutsAsync(Polar, Ct));
    }

    [Fact]
    public async Task Forgetting_a_user_leaves_other_users_subscriptions_on_the_same_customer_alone()
    {
        // A subscription the stranger bought on the victim's customer belongs to the stranger.
        await App.PostWebhookAsync(PolarPayloads.Compact(PolarPayloads.Subscription("subscription.created", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c61", externalId: "victim", metadataUserId: "victim")), ct: Ct);
        await App.PostWebhookAsync(PolarPayloads.Compact(PolarPayloads.Subscription("subscription.created", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c62", externalId: "victim", metadataUserId: "stranger")), ct: Ct);

        await using var scope = App.Services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ForgetUserAsync("victim", Ct));

        Assert.Equal(["2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c62"], await Db.QueryColumnAsync<string>("SELECT id FROM kavach_polar_subscriptions", Ct));
        using var stranger = App.ClientFor("stranger");
        Assert.Equal("2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c62", (string?)(await SubscriptionAsync(stranger))!["id"]);
    }

    private static async Task<(string Id, string Url)> CheckoutAsync(HttpClient client, string productId)
    {
        // A setup step: a 503 under load is retried, as the user's browser would.
        var response = await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId }, Ct), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        return ((string)body["id"]!, (string)body["url"]!);
    }

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];
}
