using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;

namespace KavachPolar.Tests.Security;

/// <summary>The origins KavachPolar trusts are the ones configured, never the ones a client sends.</summary>
public sealed class OriginTests : PolarAppTest
{
    private const string PublicOrigin = "https://app.example.org";

    protected override bool ReceivesWebhooks => false;

    protected override Task<KavachTestApp> StartAppAsync() =>
        KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:PublicOrigin"] = PublicOrigin } });

    [Fact]
    public async Task With_a_public_origin_a_forged_host_header_neither_passes_the_cross_site_check_nor_redirects_the_payer()
    {
        using var browser = await App.BrowserForAsync("user-1", "ada.lovelace@gmail.com");

        var forged = Checkout("/billing/done?c={CHECKOUT_ID}");
        forged.Headers.Host = "evil.example";
        forged.Headers.Add("Origin", "http://evil.example"); // the origin the request's own Host would claim
        await CheckoutEndpointTests.AssertProblemAsync(await browser.SendAsync(forged, Ct), HttpStatusCode.Forbidden, "cross_site_request");

        HttpRequestMessage OwnSite()
        {
            var ownSite = Checkout("/billing/done?c={CHECKOUT_ID}");
            ownSite.Headers.Host = "evil.example";
            ownSite.Headers.Add("Origin", PublicOrigin);
            return ownSite;
        }

        // A 503 is the database budget's answer on a starved machine (try again), not the origin check.
        var response = await Retry503.SendAsync(() => browser.SendAsync(OwnSite(), Ct), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
        var checkout = await PolarRest.GetAsync(Polar, $"v1/checkouts/{id}", Ct);
        Assert.Equal($"{PublicOrigin}/billing/done?c={id}", (string?)checkout["success_url"]);
    }

    [Fact]
    public async Task An_absolute_success_url_on_the_requests_own_host_is_refused_when_it_is_not_the_public_origin()
    {
        using var client = App.ClientFor("user-2", "grace.hopper@gmail.com");
        var request = Checkout($"{App.BaseUrl.AbsoluteUri}billing/done");
        request.Headers.Authorization = client.DefaultRequestHeaders.Authorization;
        await CheckoutEndpointTests.AssertProblemAsync(await client.SendAsync(request, Ct), HttpStatusCode.BadRequest, "success_url_not_allowed");
        Assert.Empty(await PolarRest.CheckoutsAsync(Polar, Ct));
    }

    [Fact]
    public async Task Redirect_origins_and_trusted_origins_are_kept_apart()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new()
        {
            Settings = new Dictionary<string, string?>
            {
                ["KavachPolar:PublicOrigin"] = PublicOrigin,
                ["KavachPolar:AllowedRedirectOrigins:0"] = "https://pay.example.org",
                ["KavachPolar:TrustedOrigins:0"] = "https://admin.example.org",
            },
        });
        using var browser = await app.BrowserForAsync("user-3", "katherine.johnson@gmail.com");

        // A page on a post-payment redirect target is not trusted to post with the user's cookie.
        var fromRedirectTarget = Checkout(null);
        fromRedirectTarget.Headers.Add("Origin", "https://pay.example.org");
        await CheckoutEndpointTests.AssertProblemAsync(await browser.SendAsync(fromRedirectTarget, Ct), HttpStatusCode.Forbidden, "cross_site_request");
        Assert.Empty(Polar.Customers);

        // A trusted origin may post, but is no redirect target.
        var toTrusted = Checkout("https://admin.example.org/billing/done");
        toTrusted.Headers.Add("Origin", "https://admin.example.org");
        await CheckoutEndpointTests.AssertProblemAsync(await browser.SendAsync(toTrusted, Ct), HttpStatusCode.BadRequest, "success_url_not_allowed");

        var fromTrusted = Checkout("https://pay.example.org/done?c={CHECKOUT_ID}");
        fromTrusted.Headers.Add("Origin", "https://admin.example.org");
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(fromTrusted, Ct)).StatusCode);
    }

    [Theory]
    [InlineData("Production", null, true)]
    [InlineData("Staging", null, true)]
    [InlineData("Production", PublicOrigin, false)]
    [InlineData("Development", null, false)] // the developer's own machine, where Host is whatever they typed
    public async Task Outside_development_an_unset_public_origin_is_a_warning_at_start(string environment, string? publicOrigin, bool warned)
    {
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                PolarApi = Polar.BaseUrl,
                Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = Polar.AccessToken, ["KavachPolar:PublicOrigin"] = publicOrigin },
                Environment = environment,
            });

        var warnings = app.Logs.Lines.Where(l => l.Contains("[4008]", StringComparison.Ordinal)).ToList();
        if (warned)
        {
            var warning = Assert.Single(warnings);
            Assert.Contains("KavachPolar:PublicOrigin", warning, StringComparison.Ordinal);
            Assert.Contains("Host", warning, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(warnings);
        }
    }

    [Theory]
    [InlineData("Basic", HttpStatusCode.Forbidden)] // a browser resends remembered Basic credentials cross-site
    [InlineData("Test", HttpStatusCode.Forbidden)] // any scheme that is not a bearer token is treated alike
    [InlineData("Bearer", HttpStatusCode.OK)] // a page must add a bearer token itself
    public async Task Only_a_bearer_token_is_exempt_from_the_cross_site_check(string scheme, HttpStatusCode expected)
    {
        var user = "user-" + scheme.ToLowerInvariant();
        var request = Checkout(null);
        request.Headers.Authorization = scheme == "Basic"
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":password")))
            : new AuthenticationHeaderValue(scheme, user + "|" + user + "@gmail.com");
        request.Headers.Add("Origin", "https://evil.example");
        var response = await App.Client.SendAsync(request, Ct);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await CheckoutEndpointTests.AssertProblemAsync(response, expected, "cross_site_request");
            Assert.Empty(Polar.Customers);
        }
    }

    private HttpRequestMessage Checkout(string? successUrl) =>
        new(HttpMethod.Post, "api/kavach/auth/polar/checkout")
        {
            Content = JsonContent.Create(successUrl is null ? new { productId = Polar.Products[0].Id, successUrl = (string?)null } : new { productId = Polar.Products[0].Id, successUrl = (string?)successUrl }),
        };
}
