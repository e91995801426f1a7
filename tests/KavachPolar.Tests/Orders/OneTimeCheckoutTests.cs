using System.Net;
using System.Net.Http.Json;
using KavachPolar.Testing;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Benefits.BenefitSteps;
using static KavachPolar.Tests.Orders.OrderSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>
/// Checkout sells one-time products (issue 23 item 2): <c>already_subscribed</c> applies to recurring products only, as
/// Polar's own rule does (REFERENCE.md §8 item 14), and a one-time product can be bought again unless the host's
/// <c>OneTimePurchaseLimit</c> names it.
/// </summary>
public sealed class OneTimeCheckoutTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    private string Team => Polar.Products[1].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    protected override Task<KavachTestApp> StartAppAsync() =>
        KavachTestApp.StartAsync(
            Db.ConnectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?>
                {
                    ["KavachPolar:Products:pro"] = Pro,
                    ["KavachPolar:Products:team"] = Team,
                    ["KavachPolar:Products:lifetime"] = Lifetime,
                    ["KavachPolar:Products:templates"] = AddOn,
                    ["KavachPolar:OneTimePurchaseLimit:0"] = "lifetime",
                },
            });

    [Fact]
    public async Task A_subscriber_can_buy_a_one_time_add_on_but_not_a_second_plan()
    {
        using var client = App.ClientFor("subscriber", "subscriber.person@gmail.com");
        await SubscribeAsync(Polar, client, Pro, Ct);

        var addOn = await BuyAsync(Polar, client, AddOn, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await PostCheckoutAsync(client, "team"), HttpStatusCode.Conflict, "already_subscribed");

        Assert.Equal("paid", await ColumnAsync(Db, addOn.OrderId, "status", Ct));
        Assert.Equal("subscriber", await ColumnAsync(Db, addOn.OrderId, "user_id", Ct));
        // Asked once, then remembered: a product never changes between recurring and one-time.
        await CheckoutAsync(client, AddOn, Ct);
        Assert.Equal(1, Polar.ApiRequests.Count(r => r.Path == "/v1/products/" + AddOn));
    }

    [Fact]
    public async Task The_same_one_time_product_can_be_bought_twice_unless_OneTimePurchaseLimit_names_it_and_a_full_refund_lifts_the_limit()
    {
        using var client = App.ClientFor("collector", "collector.person@gmail.com");
        await BuyAsync(Polar, client, AddOn, Ct);
        await BuyAsync(Polar, client, AddOn, Ct);
        Assert.Equal(2L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_orders WHERE user_id = 'collector' AND product_id = '{AddOn}' AND status = 'paid'", Ct));

        var lifetime = await BuyAsync(Polar, client, Lifetime, Ct);
        var checkoutsBefore = (await PolarRest.CheckoutsAsync(Polar, Ct)).Count;
        await CheckoutEndpointTests.AssertProblemAsync(await PostCheckoutAsync(client, "lifetime"), HttpStatusCode.Conflict, "already_purchased");
        await CheckoutEndpointTests.AssertProblemAsync(await PostCheckoutAsync(client, Lifetime), HttpStatusCode.Conflict, "already_purchased");
        Assert.Equal(checkoutsBefore, (await PolarRest.CheckoutsAsync(Polar, Ct)).Count);

        await Polar.RefundAsync(lifetime.OrderId, 100, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await PostCheckoutAsync(client, "lifetime"), HttpStatusCode.Conflict, "already_purchased");

        await Polar.RefundAsync(lifetime.OrderId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, "lifetime")).StatusCode);
    }

    [Fact]
    public async Task A_subscriber_buying_while_polar_cannot_say_what_the_product_is_gets_polars_error_and_no_checkout()
    {
        using var client = App.ClientFor("unlucky", "unlucky.person@gmail.com");
        await SubscribeAsync(Polar, client, Pro, Ct);
        var checkoutsBefore = (await PolarRest.CheckoutsAsync(Polar, Ct)).Count;
        Polar.InjectFault(HttpMethod.Get, "/v1/products/", 500, count: 20);

        await CheckoutEndpointTests.AssertProblemAsync(await PostCheckoutAsync(client, "templates"), HttpStatusCode.BadGateway, "polar_unavailable");

        Assert.Equal(checkoutsBefore, (await PolarRest.CheckoutsAsync(Polar, Ct)).Count);
    }

    [Fact]
    public async Task A_OneTimePurchaseLimit_entry_that_is_neither_an_id_nor_a_slug_fails_start_up_naming_the_key()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => KavachTestApp.StartAsync(
            Db.ConnectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:OneTimePurchaseLimit:0"] = "lifetim" },
                CreateSchema = false,
            }));
        Assert.Contains("KavachPolar:OneTimePurchaseLimit:0", failure.Message);
    }

    private static Task<HttpResponseMessage> PostCheckoutAsync(HttpClient client, string productId) =>
        Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId }, Ct), Ct);
}
