using System.Net;
using System.Net.Http.Json;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Authorization;

/// <summary>
/// <c>RequireSubscription</c> and <see cref="KavachPolarPolicies.Subscribed"/> on a host written as the README says:
/// answers change at once with payments, plan changes and revokes, on this instance and on another.
/// </summary>
public sealed class SubscriptionGateTests : PolarAppTest
{
    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    protected override Task<KavachTestApp> StartAppAsync() => StartGatedAppAsync(Db.ConnectionString);

    private Task<KavachTestApp> StartGatedAppAsync(string connectionString, bool createSchema = true) =>
        KavachTestApp.StartAsync(
            connectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?>
                {
                    ["KavachPolar:Products:pro"] = Polar.Products[0].Id,
                    ["KavachPolar:Products:team"] = Polar.Products[1].Id,
                },
                CreateSchema = createSchema,
                Pipeline = app =>
                {
                    app.MapGet("/reports", () => "reports").RequireSubscription();
                    app.MapGet("/team/reports", () => "team reports").RequireSubscription("team");
                    app.MapGet("/by-id", () => "by id").RequireSubscription(Polar.Products[1].Id);
                    app.MapGet("/policy", () => "policy").RequireAuthorization(KavachPolarPolicies.Subscribed);
                    var group = app.MapGroup("/members").RequireSubscription("pro", "team");
                    group.MapGet("/home", () => "members");
                },
            });

    [Fact]
    public async Task Anonymous_users_get_the_hosts_challenge()
    {
        foreach (var path in new[] { "reports", "team/reports", "policy", "members/home" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await App.Client.GetAsync(path, Ct)).StatusCode);
        }
    }

    [Fact]
    public async Task Authorization_placed_before_authentication_is_logged_once_with_the_fix()
    {
        // The host's own order puts UseAuthorization first (this pipeline runs before the test app's UseAuthentication).
        await using var misordered = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new()
        {
            CreateSchema = false,
            Pipeline = app =>
            {
                app.UseAuthorization();
                app.MapGet("/reports", () => "reports").RequireSubscription();
            },
        });
        using var client = misordered.ClientFor("user-order", "grace.o@gmail.com");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("reports", Ct)).StatusCode); // a signed-in user, seen as anonymous
        }

        var line = Assert.Single(misordered.Logs.Lines, l => l.Contains("[4010]", StringComparison.Ordinal));
        Assert.Contains("app.UseAuthentication() before app.UseAuthorization()", line, StringComparison.Ordinal);
        // The right order logs nothing of the kind, for anonymous requests either.
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.Client.GetAsync("reports", Ct)).StatusCode);
        Assert.DoesNotContain(App.Logs.Lines, l => l.Contains("[4010]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_user_without_a_subscription_gets_403_subscription_required_then_passes_at_once_after_paying()
    {
        using var client = App.ClientFor("user-1", "ada.lovelace@gmail.com");
        foreach (var path in new[] { "reports", "policy", "members/home" })
        {
            await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync(path, Ct), HttpStatusCode.Forbidden, "subscription_required");
        }

        await ManagementEndpointTests.SubscribeAsync(Polar, client, Polar.Products[0].Id);

        Assert.Equal("reports", await client.GetStringAsync("reports", Ct));
        Assert.Equal("policy", await client.GetStringAsync("policy", Ct));
        Assert.Equal("members", await client.GetStringAsync("members/home", Ct));
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("team/reports", Ct), HttpStatusCode.Forbidden, "subscription_required");
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("by-id", Ct), HttpStatusCode.Forbidden, "subscription_required");
    }

    [Fact]
    public async Task A_plan_change_opens_the_new_products_gate_at_once_and_a_revoke_closes_every_gate_at_once()
    {
        using var client = App.ClientFor("user-2", "grace.hopper@gmail.com");
        var payment = await ManagementEndpointTests.SubscribeAsync(Polar, client, Polar.Products[0].Id);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("team/reports", Ct), HttpStatusCode.Forbidden, "subscription_required");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = "team" }, Ct)).StatusCode);
        Assert.Equal("team reports", await client.GetStringAsync("team/reports", Ct));
        Assert.Equal("by id", await client.GetStringAsync("by-id", Ct));

        await Polar.RevokeSubscriptionAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        foreach (var path in new[] { "reports", "team/reports", "policy" })
        {
            await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync(path, Ct), HttpStatusCode.Forbidden, "subscription_required");
        }
    }

    [Fact]
    public async Task A_subscription_scheduled_to_cancel_still_passes_until_polar_revokes_it()
    {
        using var client = App.ClientFor("user-3", "katherine.j@gmail.com");
        await ManagementEndpointTests.SubscribeAsync(Polar, client, Polar.Products[0].Id);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct)).StatusCode);
        Assert.Equal("reports", await client.GetStringAsync("reports", Ct));
    }

    [Fact]
    public async Task A_change_applied_on_one_instance_is_enforced_by_another_instances_gate()
    {
        await using var other = await StartGatedAppAsync(Db.ConnectionString, createSchema: false);
        using var client = App.ClientFor("user-4", "hedy.l@gmail.com");
        using var otherClient = other.ClientFor("user-4", "hedy.l@gmail.com");
        await ManagementEndpointTests.SubscribeAsync(Polar, client, Polar.Products[0].Id);
        await CheckoutEndpointTests.AssertProblemAsync(await otherClient.GetAsync("team/reports", Ct), HttpStatusCode.Forbidden, "subscription_required");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = "team" }, Ct)).StatusCode);

        // The other instance hears of the change through PostgreSQL NOTIFY: within a second, not necessarily at once.
        HttpResponseMessage? response = null;
        await Wait.UntilAsync(
            async () => (response = await otherClient.GetAsync("team/reports", Ct)).StatusCode == HttpStatusCode.OK,
            Wait.ForAnnouncement,
            "the other instance's gate lets the team plan in before its cache expires",
            interval: TimeSpan.FromMilliseconds(20),
            describe: () => Task.FromResult($"it still answers {(int)response!.StatusCode}"));

        Assert.Equal("team reports", await response!.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_browser_page_request_without_a_subscription_gets_the_hosts_forbidden_handling()
    {
        using var browser = await App.BrowserForAsync("user-5", "barbara.l@gmail.com");
        var request = new HttpRequestMessage(HttpMethod.Get, "reports");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");
        var response = await browser.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode); // the cookie handler's access-denied redirect
        Assert.Contains("AccessDenied", response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gate_reads_only_this_apps_database_never_polar()
    {
        using var client = App.ClientFor("user-6", "frances.a@gmail.com");
        await App.PostWebhookAsync(Compact(Subscription("subscription.created", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a81", externalId: "user-6", productId: Polar.Products[0].Id)), ct: Ct);
        Polar.InjectFault(HttpMethod.Get, "/", 500, count: 100);
        Polar.InjectFault(HttpMethod.Post, "/", 500, count: 100);
        Assert.Equal("reports", await client.GetStringAsync("reports", Ct));
    }

    [Fact]
    public async Task A_database_that_is_down_gives_503_store_unavailable_not_a_refusal()
    {
        await using var down = await StartGatedAppAsync("Host=127.0.0.1;Port=9;Username=postgres;Database=none", createSchema: false);
        using var client = down.ClientFor("user-7", "john.b@gmail.com");
        var response = await client.GetAsync("reports", Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "store_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public void RequireSubscription_refuses_an_empty_product()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();
        Assert.Throws<ArgumentException>(() => app.MapGet("/x", () => "x").RequireSubscription(""));
    }
}
