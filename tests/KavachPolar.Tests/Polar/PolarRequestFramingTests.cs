using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Polar;

/// <summary>
/// Polar's server refuses a POST, PUT or PATCH without <c>Content-Length</c> (411, before authentication and routing),
/// so every request KavachPolar sends must frame its body with a length, and a request without a body must not send
/// a chunked empty one. Checked on the headers the emulator recorded for every route KavachPolar calls.
/// </summary>
public sealed partial class PolarRequestFramingTests : PolarAppTest
{
    /// <summary>Every (method, route) KavachPolar calls; the journey below must reach each of them.</summary>
    private static readonly string[] RoutesKavachCalls =
    [
        "GET /v1/customers/external/{external_id}",
        "GET /v1/customers/?query",
        "GET /v1/customers/?email",
        "POST /v1/customers/",
        "POST /v1/checkouts/",
        "GET /v1/checkouts/{id}",
        "GET /v1/subscriptions/",
        "PATCH /v1/subscriptions/{id}",
        "POST /v1/customer-sessions/",
        // Usage: the sender's ingest, and a meter read.
        "POST /v1/events/ingest",
        "GET /v1/customer-meters/",
        "GET /v1/meters/{id}",
        "GET /v1/products/{id}",
        "GET /v1/orders/",
        "GET /v1/orders/{id}/invoice",
        // Polar's invoice route takes no body: sent with Content-Length 0.
        "POST /v1/orders/{id}/invoice",
        // The start-up self-check's reads.
        "GET /v1/customers/",
        "GET /v1/checkouts/",
        "GET /v1/webhooks/endpoints",
        "GET /v1/organizations/{id}",
    ];

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    protected override Task<KavachTestApp> StartAppAsync() => KavachTestApp.StartAsync(Db.ConnectionString, Polar, new()
    {
        Settings = new Dictionary<string, string?>
        {
            ["KavachPolar:SelfCheck:Enabled"] = "true",
            ["KavachPolar:OrganizationId"] = Polar.OrganizationId,
        },
    });

    [Fact]
    public async Task Every_request_to_polar_with_a_body_carries_content_length_and_none_is_chunked()
    {
        await RunEveryKindOfCallAsync();

        var requests = Polar.ApiRequests;
        var reached = requests.Select(RouteOf).ToHashSet(StringComparer.Ordinal);
        Assert.All(RoutesKavachCalls, route => Assert.Contains(route, reached));
        Assert.All(requests, request =>
        {
            Assert.False(request.Headers.ContainsKey("Transfer-Encoding"), $"{request} was sent chunked");
            if (request.Method == "POST" && request.Path.EndsWith("/invoice", StringComparison.Ordinal))
            {
                Assert.True(request.Headers.TryGetValue("Content-Length", out var length) && length == "0", $"{request} has no Content-Length: 0");
                Assert.False(request.Headers.ContainsKey("Content-Type"), $"{request} sent a body");
            }
            else if (request.Method is "POST" or "PUT" or "PATCH")
            {
                Assert.True(request.Headers.TryGetValue("Content-Length", out var length) && long.Parse(length, System.Globalization.CultureInfo.InvariantCulture) > 0,
                    $"{request} has no Content-Length");
                Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
            }
            else
            {
                Assert.False(request.Headers.ContainsKey("Content-Type"), $"{request} sent a body");
                Assert.True(!request.Headers.TryGetValue("Content-Length", out var length) || length == "0", $"{request} sent a body");
            }
        });
    }

    /// <summary>
    /// Checkout (a look-up by external id, by query for an id with '/', by email on a conflict; customer and checkout
    /// creation), reconcile by checkout and by user, change plan, cancel, resume, portal, a subscriber's one-time purchase
    /// and its invoice, and reconcile-all.
    /// </summary>
    private async Task RunEveryKindOfCallAsync()
    {
        var pro = Polar.Products[0].Id;
        var team = Polar.Products[1].Id;

        using var client = App.ClientFor("user-1", "ada.lovelace@gmail.com", "Ada Lovelace");
        var checkout = await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = pro }, Ct), Ct);
        Assert.Equal(HttpStatusCode.OK, checkout.StatusCode);
        var checkoutId = (string)(await checkout.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(Ct))!["id"]!;
        await Polar.PayCheckoutAsync(checkoutId, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId }, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = team }, Ct), Ct)).StatusCode);
        // A next_period change, then back: the second call is {"pending_update": null}.
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = pro, proration = "next_period" }, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = team }, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsync("api/kavach/auth/polar/subscription/resume", null, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsync("api/kavach/auth/polar/portal", null, Ct), Ct)).StatusCode);
        // A one-time add-on beside the subscription (Polar says whether the product is recurring), then its invoice.
        var addOn = await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = PolarEmulator.DemoAddOnProductId }, Ct), Ct);
        Assert.Equal(HttpStatusCode.OK, addOn.StatusCode);
        var purchase = await Polar.PayCheckoutAsync((string)(await addOn.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(Ct))!["id"]!, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal(HttpStatusCode.Accepted, (await Retry503.SendAsync(() => client.PostAsync($"api/kavach/auth/polar/orders/{purchase.OrderId}/invoice", null, Ct), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct), Ct)).StatusCode);

        using var slashed = App.ClientFor("team/user-2", "grace.hopper@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await Retry503.SendAsync(() => slashed.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = pro }, Ct), Ct)).StatusCode);

        Polar.CreateCustomer("taken.address@gmail.com", externalId: "someone-else");
        using var conflicting = App.ClientFor("user-3", "taken.address@gmail.com");
        await CheckoutEndpointTests.AssertProblemAsync(await conflicting.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = pro }, Ct),
            HttpStatusCode.Conflict, "customer_conflict");

        await using var scope = App.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileAllAsync(Ct);

        Polar.CreateCustomer("framing.user@gmail.com", externalId: "framing-user");
        var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
        var recorded = await usage.RecordAsync("framing-user", PolarEmulator.DemoMeterEventName, new Dictionary<string, object> { ["tokens"] = 3 }, cancellationToken: Ct);
        await Wait.UntilAsync(() => Task.FromResult(Polar.IngestedEvents.Any(e => e.ExternalId == recorded)), because: "the sender has sent the event");
        Assert.NotNull(await usage.GetMeterAsync("framing-user", PolarEmulator.DemoMeterId, Ct));

        // The self-check runs in the background from the start; its last read is the organization.
        await Wait.UntilAsync(() => Task.FromResult(Polar.ApiRequests.Any(r => r.Path.StartsWith("/v1/organizations/", StringComparison.Ordinal))), because: "the self-check has read the organization");
    }

    /// <summary><c>PATCH /v1/subscriptions/{id}</c>; list look-ups keep the name of the filter that picks the customer.</summary>
    private static string RouteOf(EmulatorApiRequest request)
    {
        var path = Uuid().Replace(request.Path, "{id}");

        path = ExternalId().Replace(path, "/v1/customers/external/{external_id}");
        var filter = new[] { "query", "email" }.FirstOrDefault(f => request.Query.Contains("&" + f + "=", StringComparison.Ordinal));
        return request.Method + " " + path + (filter is null ? "" : "?" + filter);
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uuid();

    [GeneratedRegex("^/v1/customers/external/[^/]+$")]
    private static partial Regex ExternalId();
}
