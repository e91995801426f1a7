using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KavachPolar.Tests.Endpoints;

public sealed class CheckoutEndpointTests : PolarAppTest
{
    private string ProductId => Polar.Products[0].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    [Fact]
    public async Task A_signed_in_user_gets_a_checkout_bound_to_their_own_polar_customer()
    {
        using var client = App.ClientFor("user-1", "ada.lovelace@gmail.com", "Ada Lovelace");
        var response = await PostCheckoutAsync(client, new { productId = ProductId, successUrl = "/billing/done?checkout_id={CHECKOUT_ID}" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        var checkoutId = (string)body["id"]!;
        Assert.StartsWith(Polar.BaseUrl.AbsoluteUri + "checkout/polar_c_", (string)body["url"]!, StringComparison.Ordinal);

        var checkout = await PolarRest.GetAsync(Polar, $"v1/checkouts/{checkoutId}", Ct);
        var customer = Assert.Single(Polar.Customers);
        Assert.Equal("user-1", customer.ExternalId);
        Assert.Equal("ada.lovelace@gmail.com", customer.Email);
        Assert.Equal(customer.Id, (string?)checkout["customer_id"]);
        Assert.Equal("user-1", (string?)checkout["metadata"]!["kavach_user_id"]);
        Assert.Equal($"{App.BaseUrl.AbsoluteUri}billing/done?checkout_id={checkoutId}", (string?)checkout["success_url"]);
        Assert.Equal(customer.Id, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'user-1'", Ct));
    }

    [Fact]
    public async Task Paying_the_checkout_makes_the_subscription_active_for_that_user_only()
    {
        using var client = App.ClientFor("user-2", "grace.hopper@gmail.com");
        var checkout = (await (await PostCheckoutAsync(client, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;

        var payment = await Polar.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        var sub = (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!;
        Assert.Equal(payment.SubscriptionId, (string?)sub["id"]);
        Assert.Equal("active", (string?)sub["status"]);
        Assert.Equal(ProductId, (string?)sub["productId"]);
        Assert.NotNull((string?)sub["currentPeriodEnd"]);
        Assert.All(Polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode}"));

        using var other = App.ClientFor("user-3", "someone.else@gmail.com");
        var none = await other.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct);
        Assert.True(none!.ContainsKey("subscription"));
        Assert.Null(none["subscription"]);
    }

    [Fact]
    public async Task An_email_that_belongs_to_a_polar_customer_without_this_external_id_gets_409_customer_conflict_and_no_checkout()
    {
        // Changed with the attribution fix: this used to create a checkout without a customer_id, on which Polar
        // attaches the purchase to whichever customer owns the email typed on its page.
        var existing = Polar.CreateCustomer("katherine.johnson@gmail.com", "Katherine Johnson");
        using var client = App.ClientFor("user-4", "katherine.johnson@gmail.com");

        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = ProductId }), HttpStatusCode.Conflict, "customer_conflict");

        Assert.Empty(await PolarRest.CheckoutsAsync(Polar, Ct));
        Assert.Null(Polar.Customers.Single(c => c.Id == existing.Id).ExternalId);
        Assert.Null(await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'user-4'", Ct));
        Assert.Contains(App.Logs.Lines, l => l.Contains("[4004]", StringComparison.Ordinal) && l.Contains(existing.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_accounts_of_one_person_sharing_an_email_never_share_a_polar_customer()
    {
        using var first = App.ClientFor("user-4a", "same.person@gmail.com");
        using var second = App.ClientFor("user-4b", "same.person@gmail.com");
        var checkout = (await (await PostCheckoutAsync(first, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        await Polar.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        await AssertProblemAsync(await PostCheckoutAsync(second, new { productId = ProductId }), HttpStatusCode.Conflict, "customer_conflict");
        Assert.Equal(HttpStatusCode.OK, (await second.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Null((await second.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);
        Assert.Equal("active", (string?)(await first.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!["status"]);
    }

    [Fact]
    public async Task A_user_without_an_email_claim_or_a_polar_customer_gets_400_email_required_and_no_checkout()
    {
        using var client = App.ClientFor("user-4c");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = ProductId }), HttpStatusCode.BadRequest, "email_required");
        Assert.Empty(await PolarRest.CheckoutsAsync(Polar, Ct));
        Assert.Empty(Polar.Customers);
    }

    [Fact]
    public async Task A_user_without_an_email_claim_whose_polar_customer_exists_gets_a_checkout_for_it()
    {
        var existing = Polar.CreateCustomer("no.claim@gmail.com", externalId: "user-4d");
        using var client = App.ClientFor("user-4d");
        var response = await PostCheckoutAsync(client, new { productId = ProductId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var checkout = Assert.Single(await PolarRest.CheckoutsAsync(Polar, Ct));
        Assert.Equal(existing.Id, (string?)checkout["customer_id"]);
    }

    [Fact]
    public async Task A_subscribed_user_gets_409_already_subscribed_with_the_subscription_before_any_call_to_polars_checkout()
    {
        using var client = App.ClientFor("user-4e", "grace.h@gmail.com");
        var checkout = (await (await PostCheckoutAsync(client, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        var payment = await Polar.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        var problem = await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = Polar.Products[1].Id }), HttpStatusCode.Conflict, "already_subscribed");
        Assert.Equal(payment.SubscriptionId, (string?)problem["subscription"]!["id"]);
        Assert.Equal("active", (string?)problem["subscription"]!["status"]);
        Assert.Single(await PolarRest.CheckoutsAsync(Polar, Ct));
    }

    [Fact]
    public async Task With_multiple_subscriptions_allowed_a_subscribed_user_can_check_out_again()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AllowMultipleSubscriptions"] = "true" } });
        using var client = app.ClientFor("user-4f", "grace.h2@gmail.com");
        var checkout = (await (await PostCheckoutAsync(client, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        await Polar.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Equal("active", (string?)(await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!["status"]);

        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = Polar.Products[1].Id })).StatusCode);
        Assert.Equal(2, (await PolarRest.CheckoutsAsync(Polar, Ct)).Count);
    }

    [Fact]
    public async Task A_user_id_with_a_slash_finds_its_polar_customer_through_the_list_filter()
    {
        // Polar's /v1/customers/external/{id} cannot take an id with '/': the list's query filter and an exact match can.
        var existing = Polar.CreateCustomer("slash.user@gmail.com", externalId: "team/7");
        Polar.CreateCustomer("other.slash@gmail.com", externalId: "team/70");
        using var client = App.ClientFor("team/7", "slash.user@gmail.com");
        var response = await PostCheckoutAsync(client, new { productId = ProductId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var checkout = await PolarRest.GetAsync(Polar, $"v1/checkouts/{(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]}", Ct);
        Assert.Equal(existing.Id, (string?)checkout["customer_id"]);

        using var fresh = App.ClientFor("team/8", "fresh.slash@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(fresh, new { productId = ProductId })).StatusCode);
        Assert.Contains(Polar.Customers, c => c.ExternalId == "team/8");
    }

    [Fact]
    public async Task Claims_longer_than_the_columns_are_kept_to_what_fits_instead_of_failing_every_checkout()
    {
        using var client = App.ClientFor("user-long", "long.name@gmail.com", new string('N', 400));
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = ProductId })).StatusCode);
        Assert.Equal(256, await Db.ScalarAsync<int>("SELECT length(name) FROM kavach_users WHERE id = 'user-long'", Ct));

        // An emoji across the limit (two UTF-16 halves) is left out whole: half of one is not text the database takes.
        using var emoji = App.ClientFor("user-emoji", "emoji.name@gmail.com", new string('N', 255) + "\U0001F600" + new string('N', 100));
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(emoji, new { productId = ProductId })).StatusCode);
        Assert.Equal(new string('N', 255), await Db.ScalarAsync<string>("SELECT name FROM kavach_users WHERE id = 'user-emoji'", Ct));
    }

    [Fact]
    public async Task A_polar_customer_that_already_has_the_users_external_id_is_reused()
    {
        var existing = Polar.CreateCustomer("mary.jackson@gmail.com", externalId: "user-5");
        using var client = App.ClientFor("user-5", "mary.jackson@gmail.com");
        var checkout = (await (await PostCheckoutAsync(client, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        Assert.Single(Polar.Customers);
        Assert.Equal(existing.Id, (string?)(await PolarRest.GetAsync(Polar, $"v1/checkouts/{checkout["id"]}", Ct))["customer_id"]);
    }

    [Fact]
    public async Task A_bound_customer_deleted_in_polar_is_replaced_by_a_new_customer_and_its_subscriptions_arrive_canceled()
    {
        // Changed with the emulator's customer deletion: Polar soft-deletes, frees the external id and cancels the
        // customer's subscriptions (this test used to fake the deletion by editing polar_customer_id).
        using var client = App.ClientFor("user-18", "l.torvalds@gmail.com");
        var first = (await (await PostCheckoutAsync(client, new { productId = ProductId })).Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        var payment = await Polar.PayCheckoutAsync((string)first["id"]!, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Polar.DeleteCustomer(payment.CustomerId);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Null((await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);
        Assert.Equal("canceled", await Db.ScalarAsync<string>($"SELECT status FROM kavach_polar_subscriptions WHERE id = '{payment.SubscriptionId}'", Ct));

        var response = await PostCheckoutAsync(client, new { productId = ProductId });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var replacement = Assert.Single(Polar.Customers);
        Assert.NotEqual(payment.CustomerId, replacement.Id);
        Assert.Equal("user-18", replacement.ExternalId);
        Assert.Equal(replacement.Id, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'user-18'", Ct));
        var checkout = await PolarRest.GetAsync(Polar, $"v1/checkouts/{(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]}", Ct);
        Assert.Equal(replacement.Id, (string?)checkout["customer_id"]);
    }

    [Fact]
    public async Task The_client_cannot_choose_the_customer_email()
    {
        using var client = App.ClientFor("user-6", "dorothy.vaughan@gmail.com");
        var response = await PostCheckoutAsync(client, new { productId = ProductId, customerEmail = "victim@gmail.com", customerId = "11111111-1111-4111-8111-111111111111" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(Polar.Customers, c => c.Email == "victim@gmail.com");
        var checkout = await PolarRest.GetAsync(Polar, $"v1/checkouts/{(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]}", Ct);
        Assert.Equal("dorothy.vaughan@gmail.com", (string?)checkout["customer_email"]);
    }

    [Fact]
    public async Task Anonymous_requests_get_401()
    {
        var response = await PostCheckoutAsync(App.Client, new { productId = ProductId });
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        var get = await App.Client.GetAsync("api/kavach/auth/polar/subscription", Ct);
        await AssertProblemAsync(get, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [InlineData("not json", "application/json", HttpStatusCode.BadRequest, "invalid_body")]
    [InlineData("{}", "application/json", HttpStatusCode.BadRequest, "invalid_body")]
    [InlineData("{\"productId\": 5}", "application/json", HttpStatusCode.BadRequest, "invalid_body")]
    [InlineData("{\"productId\": \"pro\"}", "application/json", HttpStatusCode.BadRequest, "unknown_product")]
    [InlineData("{\"productId\": \"d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23\"}", "text/plain", HttpStatusCode.UnsupportedMediaType, "unsupported_media_type")]
    [InlineData("{\"productId\": \"d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23\", \"successUrl\": \"https://evil.example/x\"}", "application/json", HttpStatusCode.BadRequest, "success_url_not_allowed")]
    [InlineData("{\"productId\": \"d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23\", \"successUrl\": \"//evil.example/x\"}", "application/json", HttpStatusCode.BadRequest, "success_url_not_allowed")]
    [InlineData("{\"productId\": \"d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23\", \"successUrl\": \"javascript:alert(1)\"}", "application/json", HttpStatusCode.BadRequest, "success_url_not_allowed")]
    public async Task Bad_requests_get_a_clear_error_and_reach_neither_polar_nor_the_database(string body, string contentType, HttpStatusCode status, string code)
    {
        using var client = App.ClientFor("user-7", "alan.turing@gmail.com");
        var response = await client.PostAsync("api/kavach/auth/polar/checkout", new StringContent(body, Encoding.UTF8, contentType), Ct);
        await AssertProblemAsync(response, status, code);
        Assert.Empty(Polar.Customers);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
    }

    [Fact]
    public async Task Configured_products_accept_their_slug_and_refuse_anything_else()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:Products:pro"] = ProductId } });
        using var client = app.ClientFor("user-8", "hedy.lamarr@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = "pro" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = ProductId })).StatusCode);
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = Polar.Products[1].Id }), HttpStatusCode.BadRequest, "unknown_product");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = "team" }), HttpStatusCode.BadRequest, "unknown_product");
    }

    [Fact]
    public async Task An_allowed_absolute_success_url_is_passed_with_its_placeholder()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AllowedRedirectOrigins:0"] = "https://app.example.org" } });
        using var client = app.ClientFor("user-9", "barbara.liskov@gmail.com");
        var response = await PostCheckoutAsync(client, new { productId = ProductId, successUrl = "https://app.example.org/ok?c={CHECKOUT_ID}" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
        Assert.Equal($"https://app.example.org/ok?c={id}", (string?)(await PolarRest.GetAsync(Polar, $"v1/checkouts/{id}", Ct))["success_url"]);
    }

    [Fact]
    public async Task Polar_validation_errors_become_a_422_with_field_paths_and_no_raw_body()
    {
        using var client = App.ClientFor("user-10", "frances.allen@gmail.com");
        var response = await PostCheckoutAsync(client, new { productId = "0b7f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b" });
        var problem = await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "polar_validation_failed");
        var error = Assert.Single(problem["errors"]!.AsArray());
        Assert.Equal("products[0]", (string?)error!["field"]);
        Assert.Equal("Product does not exist.", (string?)error["message"]);
        Assert.DoesNotContain("PolarRequestValidationError", problem.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("[object Object]", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_polar_rejects_gives_502_and_tells_the_operator_what_to_check()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = "polar_oat_wrong_token_secret_value" } });
        using var client = app.ClientFor("user-11", "margaret.hamilton@gmail.com");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = ProductId }), HttpStatusCode.BadGateway, "polar_token_rejected");
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1001]", StringComparison.Ordinal) && l.Contains("KavachPolar:AccessToken", StringComparison.Ordinal) && l.Contains("KavachPolar:Sandbox", StringComparison.Ordinal));
        Assert.DoesNotContain("polar_oat_wrong_token_secret_value", app.Logs.AllText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, HttpStatusCode.BadGateway, "polar_unavailable")]
    [InlineData(503, HttpStatusCode.BadGateway, "polar_unavailable")]
    [InlineData(409, HttpStatusCode.Conflict, "polar_conflict")]
    [InlineData(403, HttpStatusCode.BadGateway, "polar_token_rejected")] // insufficient_scope
    [InlineData(429, HttpStatusCode.ServiceUnavailable, "polar_rate_limited")]
    public async Task Polar_failures_on_checkout_creation_map_to_stable_problems(int polarStatus, HttpStatusCode expected, string code)
    {
        Polar.InjectFault(HttpMethod.Post, "/v1/checkouts/", polarStatus, retryAfter: polarStatus == 429 ? TimeSpan.FromSeconds(17) : null);
        using var client = App.ClientFor("user-12", "radia.perlman@gmail.com");
        var response = await PostCheckoutAsync(client, new { productId = ProductId });
        await AssertProblemAsync(response, expected, code);
        if (polarStatus == 429)
        {
            Assert.Equal(TimeSpan.FromSeconds(17), response.Headers.RetryAfter?.Delta);
        }
    }

    [Fact]
    public async Task An_unreachable_polar_gives_502()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { PolarApi = new Uri("http://127.0.0.1:9/") });
        using var client = app.ClientFor("user-13", "john.backus@gmail.com");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = ProductId }), HttpStatusCode.BadGateway, "polar_unavailable");
    }

    [Fact]
    public async Task Cross_site_cookie_requests_are_refused_and_same_site_ones_accepted()
    {
        using var browser = await App.BrowserForAsync("user-14", "ken.thompson@gmail.com");
        var cross = new HttpRequestMessage(HttpMethod.Post, "api/kavach/auth/polar/checkout") { Content = JsonContent.Create(new { productId = ProductId }) };
        cross.Headers.Add("Origin", "https://evil.example");
        await AssertProblemAsync(await browser.SendAsync(cross, Ct), HttpStatusCode.Forbidden, "cross_site_request");

        var fetchMeta = new HttpRequestMessage(HttpMethod.Post, "api/kavach/auth/polar/checkout") { Content = JsonContent.Create(new { productId = ProductId }) };
        fetchMeta.Headers.Add("Sec-Fetch-Site", "cross-site");
        await AssertProblemAsync(await browser.SendAsync(fetchMeta, Ct), HttpStatusCode.Forbidden, "cross_site_request");
        Assert.Empty(Polar.Customers);

        var same = new HttpRequestMessage(HttpMethod.Post, "api/kavach/auth/polar/checkout") { Content = JsonContent.Create(new { productId = ProductId }) };
        same.Headers.Add("Origin", App.BaseUrl.AbsoluteUri.TrimEnd('/'));
        same.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(same, Ct)).StatusCode);
    }

    [Fact]
    public async Task Bursts_from_one_user_get_429_with_retry_after_while_other_users_go_through()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:CheckoutRateLimit"] = "2" } });
        using var client = app.ClientFor("user-15", "dennis.ritchie@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = ProductId })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(client, new { productId = ProductId })).StatusCode);
        var third = await PostCheckoutAsync(client, new { productId = ProductId });
        await AssertProblemAsync(third, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(third.Headers.RetryAfter?.Delta);

        using var other = app.ClientFor("user-16", "bjarne.s@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(other, new { productId = ProductId })).StatusCode);
    }

    [Fact]
    public async Task Checkout_requests_are_counted_by_result_refusals_by_the_guard_included()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:CheckoutRateLimit"] = "1" } });
        using var counted = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "KavachPolar", "kavach_polar.checkouts");
        using var client = app.ClientFor("user-18", "grace.h@gmail.com");

        await AssertProblemAsync(await PostCheckoutAsync(app.Client, new { productId = ProductId }), HttpStatusCode.Unauthorized, "unauthenticated");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = "pro" }), HttpStatusCode.BadRequest, "unknown_product");
        using var other = app.ClientFor("user-19", "alan.k@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await PostCheckoutAsync(other, new { productId = ProductId })).StatusCode);
        await AssertProblemAsync(await PostCheckoutAsync(other, new { productId = ProductId }), HttpStatusCode.TooManyRequests, "rate_limited");

        Assert.Equal(
            ["unauthenticated", "unknown_product", "created", "rate_limited"],
            counted.GetMeasurementSnapshot().Select(m => (string?)m.Tags["result"]));
        Assert.All(counted.GetMeasurementSnapshot(), m => Assert.Equal(1, m.Value));
    }

    [Fact]
    public async Task A_database_that_is_down_gives_503_on_both_user_routes()
    {
        await using var app = await KavachTestApp.StartAsync("Host=127.0.0.1;Port=9;Username=postgres;Database=none;Timeout=2", Polar, new() { CreateSchema = false });
        using var client = app.ClientFor("user-17", "niklaus.wirth@gmail.com");
        await AssertProblemAsync(await PostCheckoutAsync(client, new { productId = ProductId }), HttpStatusCode.ServiceUnavailable, "store_unavailable");
        await AssertProblemAsync(await client.GetAsync("api/kavach/auth/polar/subscription", Ct), HttpStatusCode.ServiceUnavailable, "store_unavailable");
        Assert.Empty(Polar.Customers);
    }

    private static Task<HttpResponseMessage> PostCheckoutAsync(HttpClient client, object body) =>
        client.PostAsJsonAsync("api/kavach/auth/polar/checkout", body, Ct);

    internal static async Task<JsonObject> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == response.StatusCode, $"Expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(code, (string?)problem["code"]);
        Assert.Equal((int)status, (int)problem["status"]!);
        return problem;
    }
}
