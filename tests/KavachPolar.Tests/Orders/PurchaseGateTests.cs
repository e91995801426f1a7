using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;
using static KavachPolar.Tests.Orders.OrderSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>
/// What an outside host sees of one-time purchases, written from the pinned names (<c>RequirePurchase</c>,
/// <c>[RequirePurchase]</c>, <see cref="IKavachPolarEntitlements"/>, <c>GET orders</c>, <c>POST orders/{id}/invoice</c>)
/// against the emulator: purchase opens the gate, a partial refund keeps it open, a full refund closes it, a refund of a
/// subscription's order leaves the subscription alone, renewals are billing history, another user's order is never
/// reachable.
/// </summary>
public sealed class PurchaseGateTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    protected override PolarEmulatorOptions EmulatorOptions()
    {
        var options = FastRetries();
        options.InvoiceGenerationDelay = TimeSpan.FromMilliseconds(200);
        return options;
    }

    protected override Task<KavachTestApp> StartAppAsync() =>
        KavachTestApp.StartAsync(
            Db.ConnectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?>
                {
                    ["KavachPolar:Products:pro"] = Pro,
                    ["KavachPolar:Products:lifetime"] = Lifetime,
                    ["KavachPolar:Products:templates"] = AddOn,
                    ["KavachPolar:Benefits:downloads"] = Downloads,
                },
                Pipeline = app =>
                {
                    app.MapGet("/lifetime", () => "lifetime").RequirePurchase("lifetime");
                    app.MapGet("/attribute", [RequirePurchase("lifetime", "templates")] () => "attribute");
                    app.MapGet("/downloads", () => "files").RequireBenefit("downloads");
                    app.MapGet("/pro", () => "pro").RequireSubscription("pro");
                    app.MapGet("/typo", () => "typo").RequirePurchase("lifetme");
                },
            });

    [Fact]
    public async Task Purchase_opens_the_gate_a_partial_refund_keeps_it_open_and_a_full_refund_closes_it()
    {
        using var client = App.ClientFor("lifer", "lifer.person@gmail.com");
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("lifetime", Ct), HttpStatusCode.Forbidden, "purchase_required");
        Assert.False(await HasPurchasedAsync("lifer", "lifetime"));

        var payment = await BuyAsync(Polar, client, Lifetime, Ct);
        Assert.Equal("lifetime", await client.GetStringAsync("lifetime", Ct));
        Assert.Equal("attribute", await client.GetStringAsync("attribute", Ct));
        Assert.True(await HasPurchasedAsync("lifer", "lifetime"));
        Assert.True(await HasPurchasedAsync("lifer", Lifetime));

        await Polar.RefundAsync(payment.OrderId, 5000, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal("lifetime", await client.GetStringAsync("lifetime", Ct));
        Assert.True(await HasPurchasedAsync("lifer", "lifetime"));
        var order = Assert.Single((await OrdersAsync(client))!);
        Assert.Equal("partially_refunded", (string?)order!["status"]);
        Assert.Equal(5000L, (long)order["refundedAmount"]!);

        await Polar.RefundAsync(payment.OrderId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("lifetime", Ct), HttpStatusCode.Forbidden, "purchase_required");
        Assert.False(await HasPurchasedAsync("lifer", "lifetime"));
        Assert.Equal("refunded", (string?)Assert.Single((await OrdersAsync(client))!)!["status"]);
    }

    [Fact]
    public async Task Purchase_access_follows_the_order_and_benefit_access_its_grants_which_a_partial_refund_may_revoke()
    {
        using var client = App.ClientFor("revoked-buyer", "revoked.buyer@gmail.com");
        var payment = await BuyAsync(Polar, client, Lifetime, Ct);
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));

        await Polar.RefundAsync(payment.OrderId, 100, revokeBenefits: true, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal("lifetime", await client.GetStringAsync("lifetime", Ct));
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("downloads", Ct), HttpStatusCode.Forbidden, "benefit_required");
    }

    [Fact]
    public async Task A_refund_of_a_subscription_order_leaves_the_subscription_alone_and_renewals_are_billing_history()
    {
        using var client = App.ClientFor("subscriber", "subscriber.person@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        await Polar.RefundAsync(payment.OrderId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal("pro", await client.GetStringAsync("pro", Ct));
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));
        var subscription = (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!;
        Assert.Equal("active", (string?)subscription["status"]);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("lifetime", Ct), HttpStatusCode.Forbidden, "purchase_required");

        var orders = (await OrdersAsync(client))!;
        Assert.Equal(["subscription_cycle", "subscription_create"], orders.Select(o => (string)o!["billingReason"]!));
        Assert.Equal(["paid", "refunded"], orders.Select(o => (string)o!["status"]!));
        Assert.All(orders, o => Assert.Equal(payment.SubscriptionId, (string?)o!["subscriptionId"]));
        Assert.Equal(
            ["id", "productId", "status", "billingReason", "netAmount", "taxAmount", "totalAmount", "refundedAmount", "currency", "createdAt", "subscriptionId"],
            orders[0]!.AsObject().Select(p => p.Key));

        await using var scope = App.Services.CreateAsyncScope();
        var entitlements = scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>();
        var fromApi = await entitlements.GetOrdersAsync("subscriber", cancellationToken: Ct);
        Assert.Equal(orders.Select(o => (string)o!["id"]!), fromApi.Select(o => o.Id));
        var newest = Assert.Single(await entitlements.GetOrdersAsync("subscriber", 1, Ct));
        Assert.Equal(fromApi[0].Id, newest.Id);
        Assert.NotEqual(payment.OrderId, newest.Id);
        Assert.Equal(1900L, fromApi[1].NetAmount);
        Assert.Equal(1900L, fromApi[1].RefundedAmount);
    }

    [Fact]
    public async Task Another_users_order_is_never_reachable_and_the_buyers_invoice_comes_once_polar_has_made_it()
    {
        // A name and the checkout page's billing address are the invoice's billing details.
        using var buyer = App.ClientFor("invoice-buyer", "invoice.buyer@gmail.com", "Invoice Buyer");
        using var other = App.ClientFor("other-user", "other.user@gmail.com");
        var payment = await BuyAsync(Polar, buyer, AddOn, Ct);

        Assert.Empty((await OrdersAsync(other))!);
        await CheckoutEndpointTests.AssertProblemAsync(await other.PostAsync($"api/kavach/auth/polar/orders/{payment.OrderId}/invoice", null, Ct), HttpStatusCode.NotFound, "not_found");
        await CheckoutEndpointTests.AssertProblemAsync(await buyer.PostAsync("api/kavach/auth/polar/orders/not-an-id/invoice", null, Ct), HttpStatusCode.NotFound, "not_found");
        Assert.DoesNotContain(Polar.ApiRequests, r => r.Path.EndsWith("/invoice", StringComparison.Ordinal));

        var first = await buyer.PostAsync($"api/kavach/auth/polar/orders/{payment.OrderId}/invoice", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.True(first.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        HttpResponseMessage? response = null;
        await Wait.UntilAsync(
            async () => (response = await buyer.PostAsync($"api/kavach/auth/polar/orders/{payment.OrderId}/invoice", null, Ct)).StatusCode == HttpStatusCode.OK,
            because: "Polar has made the invoice",
            interval: TimeSpan.FromMilliseconds(300));
        var url = (string)(await response!.Content.ReadFromJsonAsync<JsonObject>(Ct))!["url"]!;
        Assert.True(Uri.TryCreate(url, UriKind.Absolute, out _), url);

        // Even now, the other user gets nothing.
        await CheckoutEndpointTests.AssertProblemAsync(await other.PostAsync($"api/kavach/auth/polar/orders/{payment.OrderId}/invoice", null, Ct), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task An_invoice_polar_cannot_make_without_a_billing_name_is_a_clear_problem_that_names_the_fix()
    {
        // No name anywhere (sign-in, checkout page, customer): Polar's order has no billing_name, and Polar refuses to
        // generate its invoice (422 MissingInvoiceBillingDetails, order/service.py trigger_invoice_generation).
        using var buyer = App.ClientFor("nameless-buyer", "nameless.buyer@gmail.com");
        var payment = await BuyAsync(Polar, buyer, AddOn, Ct);

        var response = await buyer.PostAsync($"api/kavach/auth/polar/orders/{payment.OrderId}/invoice", null, Ct);

        var problem = await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.Conflict, "invoice_billing_details_missing");
        Assert.Contains("billing name and address", (string?)problem["detail"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("customer portal", (string?)problem["detail"], StringComparison.OrdinalIgnoreCase);
        Assert.Null(response.Headers.RetryAfter);
        Assert.Contains(Polar.ApiRequests, r => r.Method == "POST" && r.Path == $"/v1/orders/{payment.OrderId}/invoice");
        Assert.Contains(payment.OrderId, Assert.Single(App.Logs.Collector.GetSnapshot(), r => r.Id.Id == 1224).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_users_get_the_hosts_challenge_and_bad_names_a_clear_error()
    {
        foreach (var path in new[] { "lifetime", "attribute", "api/kavach/auth/polar/orders" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await App.Client.GetAsync(path, Ct)).StatusCode);
        }

        using var client = App.ClientFor("typo-buyer", "typo.buyer@gmail.com");
        await BuyAsync(Polar, client, Lifetime, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("typo", Ct), HttpStatusCode.Forbidden, "purchase_required");
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("typo", Ct), HttpStatusCode.Forbidden, "purchase_required");
        Assert.Equal(1, App.Logs.Collector.GetSnapshot().Count(r => r.Id.Id == 1223));

        await using var scope = App.Services.CreateAsyncScope();
        var entitlements = scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => entitlements.HasPurchasedAsync("typo-buyer", "lifetme", Ct));
        Assert.Contains("KavachPolar:Products", refused.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => entitlements.GetOrdersAsync("typo-buyer", 0, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => entitlements.GetOrdersAsync("typo-buyer", 1001, Ct));
        Assert.Throws<ArgumentException>(() => new EndpointProbe().RequirePurchase());
        Assert.Throws<ArgumentException>(() => new RequirePurchaseAttribute(" "));
    }

    private async Task<bool> HasPurchasedAsync(string userId, string product)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>().HasPurchasedAsync(userId, product, Ct);
    }

    private static async Task<JsonArray?> OrdersAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/orders", TestContext.Current.CancellationToken))!["orders"]!.AsArray();

    /// <summary>An endpoint convention builder that records nothing, to call <c>RequirePurchase</c> on with bad input.</summary>
    private sealed class EndpointProbe : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
        }
    }
}
