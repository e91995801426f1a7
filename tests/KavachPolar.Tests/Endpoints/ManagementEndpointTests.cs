using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using KavachPolar.Testing;

namespace KavachPolar.Tests.Endpoints;

/// <summary>Change plan, cancel, resume and the customer portal, against the emulator, on real PostgreSQL.</summary>
public sealed class ManagementEndpointTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    private string Team => Polar.Products[1].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    [Fact]
    public async Task Changing_plan_applies_polars_answer_at_once_and_the_later_webhook_is_no_second_change()
    {
        using var client = App.ClientFor("user-1", "ada.lovelace@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count(c => c.UserId == "user-1") == 1);
        var eventsBefore = Polar.Events.Count;

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answered = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!;
        Assert.Equal(payment.SubscriptionId, (string?)answered["id"]);
        Assert.Equal(Team, (string?)answered["productId"]);
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["productId"]);
        Assert.Equal(Team, await Db.ScalarAsync<string>("SELECT polar_product_id FROM kavach_users WHERE id = 'user-1'", Ct));

        await Polar.WaitForDeliveriesAsync(Ct);
        var updated = Assert.Single(Polar.Events.Skip(eventsBefore), e => e.Type == "subscription.updated");
        // Whichever lands first, the API answer or Polar's webhook of the same change, the other is stale: one change.
        Assert.Contains(await Db.ScalarAsync<string>($"SELECT outcome FROM kavach_polar_webhook_events WHERE id = '{updated.EventId}'", Ct), new[] { "applied", "stale" });
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count(c => c.UserId == "user-1") >= 2);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(2, App.Changes.Count(c => c.UserId == "user-1"));
        var change = App.Changes.Last(c => c.UserId == "user-1");
        Assert.Equal(Pro, change.Previous!.ProductId);
        Assert.Equal(Team, change.Current!.ProductId);
        Assert.Equal("subscription.updated", change.EventType);
    }

    [Fact]
    public async Task Changing_to_the_product_the_user_has_succeeds_without_asking_polar()
    {
        using var client = App.ClientFor("user-2", "grace.hopper@gmail.com");
        await SubscribeAsync(Polar, client, Pro);
        var eventsBefore = Polar.Events.Count;

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Pro }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Pro, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["productId"]);
        Assert.Equal(eventsBefore, Polar.Events.Count);
    }

    [Fact]
    public async Task A_next_period_change_keeps_the_product_until_polar_renews_the_subscription()
    {
        using var client = App.ClientFor("user-3", "katherine.j@gmail.com");
        await SubscribeAsync(Polar, client, Pro);

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team, proration = "next_period" }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Pro, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["productId"]);

        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["productId"]);
    }

    [Fact]
    public async Task A_scheduled_change_is_part_of_the_subscription_and_changing_back_drops_it_at_polar_so_the_renewal_keeps_the_product()
    {
        using var client = App.ClientFor("user-14", "mary.j@gmail.com");
        await SubscribeAsync(Polar, client, Pro);
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count(c => c.UserId == "user-14") == 1);

        var scheduled = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team, proration = "next_period" }, Ct);

        Assert.Equal(HttpStatusCode.OK, scheduled.StatusCode);
        var answered = (await scheduled.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!;
        Assert.Equal(Pro, (string?)answered["productId"]);
        Assert.Equal(Team, (string?)answered["scheduledChange"]!["productId"]);
        Assert.Equal(answered["currentPeriodEnd"]!.GetValue<DateTimeOffset>(), answered["scheduledChange"]!["appliesAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["scheduledChange"]!["productId"]);
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count(c => c.UserId == "user-14") >= 2);
        var scheduling = App.Changes.Last(c => c.UserId == "user-14");
        Assert.Null(scheduling.Previous!.ScheduledChange);
        Assert.Equal(Team, scheduling.Current!.ScheduledChange!.ProductId);

        // Asking for the same next_period change again asks Polar nothing.
        var patches = Polar.ApiRequests.Count(r => r.Method == "PATCH");
        var again = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team, proration = "next_period" }, Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(patches, Polar.ApiRequests.Count(r => r.Method == "PATCH"));

        var back = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Pro }, Ct);

        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        var after = (await back.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!;
        Assert.Equal(Pro, (string?)after["productId"]);
        Assert.True(after.AsObject().ContainsKey("scheduledChange"));
        Assert.Null(after["scheduledChange"]);
        Assert.Equal(patches + 1, Polar.ApiRequests.Count(r => r.Method == "PATCH"));
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count(c => c.UserId == "user-14") >= 3);
        var clearing = App.Changes.Last(c => c.UserId == "user-14");
        Assert.Equal(Team, clearing.Previous!.ScheduledChange!.ProductId);
        Assert.Null(clearing.Current!.ScheduledChange);

        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(Pro, (string?)(await SubscriptionAsync(client))!["productId"]);
        Assert.Null((await SubscriptionAsync(client))!["scheduledChange"]);
    }

    [Fact]
    public async Task When_polar_fails_to_drop_a_scheduled_change_the_answer_is_502_and_the_change_stays_scheduled()
    {
        using var client = App.ClientFor("user-16", "annie.e@gmail.com");
        await SubscribeAsync(Polar, client, Pro);
        var scheduled = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team, proration = "next_period" }, Ct);
        Assert.Equal(HttpStatusCode.OK, scheduled.StatusCode);

        Polar.InjectFault(HttpMethod.Patch, "/v1/subscriptions/", 500);
        var back = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Pro }, Ct);

        await CheckoutEndpointTests.AssertProblemAsync(back, HttpStatusCode.BadGateway, "polar_unavailable");
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["scheduledChange"]!["productId"]);
        Assert.Equal(Team, (string?)JsonNode.Parse(Polar.GetSubscriptionJson((await SubscriptionAsync(client))!["id"]!.GetValue<string>()))!["pending_update"]!["product_id"]);
    }

    [Fact]
    public async Task A_change_scheduled_in_polar_arrives_by_webhook_and_applies_at_renewal()
    {
        using var client = App.ClientFor("user-15", "dorothy.v@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);

        // Made in Polar's portal or dashboard: only the webhook tells the app.
        using var polarApi = new HttpClient { BaseAddress = Polar.BaseUrl };
        polarApi.DefaultRequestHeaders.Authorization = new("Bearer", Polar.AccessToken);
        var patch = await polarApi.PatchAsync($"v1/subscriptions/{payment.SubscriptionId}", new StringContent(new JsonObject { ["product_id"] = Team, ["proration_behavior"] = "next_period" }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["scheduledChange"]!["productId"]);
        Assert.Equal(Pro, (string?)(await SubscriptionAsync(client))!["productId"]);

        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["productId"]);
        Assert.Null((await SubscriptionAsync(client))!["scheduledChange"]);
    }

    [Theory]
    [InlineData("{\"productId\": \"team\", \"proration\": \"later\"}", HttpStatusCode.BadRequest, "invalid_proration")]
    [InlineData("{\"productId\": \"not-a-product\"}", HttpStatusCode.BadRequest, "unknown_product")]
    [InlineData("{}", HttpStatusCode.BadRequest, "invalid_body")]
    [InlineData("[1]", HttpStatusCode.BadRequest, "invalid_body")]
    public async Task A_bad_change_request_gets_a_clear_error_and_changes_nothing(string body, HttpStatusCode status, string code)
    {
        using var client = App.ClientFor("user-4", "hedy.l@gmail.com");
        await SubscribeAsync(Polar, client, Pro);
        var eventsBefore = Polar.Events.Count;

        var response = await client.PostAsync("api/kavach/auth/polar/subscription/change", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);

        await CheckoutEndpointTests.AssertProblemAsync(response, status, code);
        Assert.Equal(eventsBefore, Polar.Events.Count);
        Assert.Equal(Pro, (string?)(await SubscriptionAsync(client))!["productId"]);
    }

    [Fact]
    public async Task Without_a_live_subscription_change_cancel_and_resume_get_409_no_subscription()
    {
        using var client = App.ClientFor("user-5", "barbara.l@gmail.com");
        foreach (var route in new[] { "subscription/change", "subscription/cancel", "subscription/resume" })
        {
            var response = await client.PostAsJsonAsync("api/kavach/auth/polar/" + route, new { productId = Team }, Ct);
            await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.Conflict, "no_subscription");
        }
    }

    [Fact]
    public async Task A_change_to_an_unknown_product_is_a_bad_request_even_without_a_subscription()
    {
        using var client = App.ClientFor("user-5b", "lynn.c@gmail.com");
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = "not-a-product" }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "unknown_product");

        await using var scope = App.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ChangePlanAsync("user-5b", "not-a-product", cancellationToken: Ct);
        Assert.Equal(KavachPolarErrorCodes.UnknownProduct, result.ErrorCode);
    }

    [Fact]
    public async Task A_change_to_an_unknown_product_is_a_bad_request_even_while_the_database_is_down()
    {
        await using var app = await KavachTestApp.StartAsync("Host=127.0.0.1;Port=9;Username=postgres;Database=none;Timeout=2", Polar, new() { CreateSchema = false });
        using var client = app.ClientFor("user-5c", "lynn.c@gmail.com");
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = "not-a-product" }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "unknown_product");
    }

    [Fact]
    public async Task Cancel_and_resume_round_trip_and_repeating_either_changes_nothing_at_polar()
    {
        using var client = App.ClientFor("user-6", "frances.a@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);

        var canceled = await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        Assert.True((bool)(await canceled.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["cancelAtPeriodEnd"]!);
        var eventsAfterCancel = Polar.Events.Count;
        var requestsAfterCancel = Polar.ApiRequests.Count;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct)).StatusCode);
        Assert.Equal(eventsAfterCancel, Polar.Events.Count);
        // The repeat reads Polar's state, sees the cancellation already scheduled and sends no change.
        Assert.Equal(["GET /v1/subscriptions/" + payment.SubscriptionId], Polar.ApiRequests.Skip(requestsAfterCancel).Select(r => r.Method + " " + r.Path));

        // Polar refuses to change the product of a subscription scheduled to cancel.
        await CheckoutEndpointTests.AssertProblemAsync(await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team }, Ct), HttpStatusCode.BadRequest, "polar_rejected");

        var resumed = await client.PostAsync("api/kavach/auth/polar/subscription/resume", null, Ct);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((bool)(await resumed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["cancelAtPeriodEnd"]!);
        var eventsAfterResume = Polar.Events.Count;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/subscription/resume", null, Ct)).StatusCode);
        Assert.Equal(eventsAfterResume, Polar.Events.Count);
        Assert.Equal("active", (string?)(await SubscriptionAsync(client))!["status"]);
    }

    [Fact]
    public async Task Cancel_after_the_user_resumed_in_polars_portal_is_sent_to_polar_though_the_local_copy_says_canceled()
    {
        using var client = App.ClientFor("user-6b", "frances.b@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct)).StatusCode);
        await Polar.WaitForDeliveriesAsync(Ct);

        // The user resumes in Polar's portal; its webhooks have not arrived yet when they cancel again in the app.
        Polar.HoldDeliveries();
        await Polar.UncancelSubscriptionAsync(payment.SubscriptionId, Ct);
        Assert.True((bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!); // the local copy is behind

        var canceled = await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct);

        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        Assert.True((bool)(await canceled.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["cancelAtPeriodEnd"]!);
        Assert.True((bool)JsonNode.Parse(Polar.GetSubscriptionJson(payment.SubscriptionId))!["cancel_at_period_end"]!); // Polar will not renew
        Polar.ReleaseDeliveries();
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.True((bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!); // the portal's late webhooks are older
    }

    [Fact]
    public async Task Resume_after_the_user_canceled_in_polars_portal_is_sent_to_polar_though_the_local_copy_says_active()
    {
        using var client = App.ClientFor("user-6c", "frances.c@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);
        await Polar.WaitForDeliveriesAsync(Ct);

        Polar.HoldDeliveries();
        await Polar.CancelSubscriptionAsync(payment.SubscriptionId, atPeriodEnd: true, Ct);
        Assert.False((bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!);

        var resumed = await client.PostAsync("api/kavach/auth/polar/subscription/resume", null, Ct);

        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((bool)(await resumed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["cancelAtPeriodEnd"]!);
        Assert.False((bool)JsonNode.Parse(Polar.GetSubscriptionJson(payment.SubscriptionId))!["cancel_at_period_end"]!);
        Polar.ReleaseDeliveries();
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.False((bool)(await SubscriptionAsync(client))!["cancelAtPeriodEnd"]!);
    }

    [Fact]
    public async Task A_change_to_the_product_the_local_copy_shows_is_sent_when_polar_holds_another_one()
    {
        using var client = App.ClientFor("user-6d", "frances.d@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team }, Ct)).StatusCode);
        await Polar.WaitForDeliveriesAsync(Ct);

        // Switched back to Pro elsewhere (the portal, the dashboard); the webhooks have not arrived.
        Polar.HoldDeliveries();
        await PolarRest.PatchAsync(Polar, "v1/subscriptions/" + payment.SubscriptionId, $$"""{"product_id":"{{Pro}}","proration_behavior":"invoice"}""", Ct);
        Assert.Equal(Team, (string?)(await SubscriptionAsync(client))!["productId"]);

        var changed = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team }, Ct);

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(Team, (string?)(await changed.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!["productId"]);
        Assert.Equal(Team, (string?)JsonNode.Parse(Polar.GetSubscriptionJson(payment.SubscriptionId))!["product_id"]);
        Polar.ReleaseDeliveries();
    }

    [Fact]
    public async Task Cancel_resume_and_change_answer_polars_refusal_to_read_the_subscription_and_change_nothing()
    {
        using var client = App.ClientFor("user-6e", "frances.e@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);
        await Polar.WaitForDeliveriesAsync(Ct);
        var events = Polar.Events.Count;

        Polar.InjectFault(HttpMethod.Get, "/v1/subscriptions/", 500, count: 9); // three routes, each GET tried three times
        foreach (var (route, body) in new[] { ("subscription/cancel", (object?)null), ("subscription/resume", null), ("subscription/change", new { productId = Team }) })
        {
            var response = body is null ? await client.PostAsync("api/kavach/auth/polar/" + route, null, Ct) : await client.PostAsJsonAsync("api/kavach/auth/polar/" + route, body, Ct);
            await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.BadGateway, "polar_unavailable");
        }

        Assert.DoesNotContain(Polar.ApiRequests, r => r.Method == "PATCH");
        Assert.Equal(events, Polar.Events.Count);
        Assert.Equal(Pro, (string?)(await SubscriptionAsync(client))!["productId"]);
    }

    [Fact]
    public async Task The_portal_route_returns_polars_portal_url_for_the_users_own_customer()
    {
        using var client = App.ClientFor("user-7", "radia.p@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro);

        var response = await client.PostAsync("api/kavach/auth/polar/portal", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var url = new Uri((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["url"]!);
        Assert.StartsWith(Polar.BaseUrl.AbsoluteUri, url.AbsoluteUri, StringComparison.Ordinal);
        using var browser = new HttpClient();
        var page = await browser.GetStringAsync(url, Ct);
        Assert.Contains(Polar.Customers.Single(c => c.Id == payment.CustomerId).Email, page, StringComparison.Ordinal);
        Assert.Contains(Polar.Products[0].Name, page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_portal_route_binds_a_customer_found_by_the_users_external_id_and_opens_its_portal()
    {
        // A user row with no customer yet, and a customer made in Polar's dashboard with the user's id as external id.
        Assert.Equal("user-portal", await Db.ScalarAsync<string>(
            "INSERT INTO kavach_users (id, email, polar_cancel_at_period_end, created_at, updated_at) VALUES ('user-portal', 'grace.h@gmail.com', false, now(), now()) RETURNING id", Ct));
        var customer = Polar.CreateCustomer("grace.hopper@gmail.com", externalId: "user-portal");
        using var client = App.ClientFor("user-portal", "grace.h@gmail.com");

        var response = await client.PostAsync("api/kavach/auth/polar/portal", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(customer.Id, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'user-portal'", Ct));
        var url = new Uri((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["url"]!);
        using var browser = new HttpClient();
        Assert.Contains("grace.hopper@gmail.com", await browser.GetStringAsync(url, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_portal_route_gives_409_no_customer_to_a_user_who_never_bought()
    {
        using var client = App.ClientFor("user-8", "john.b@gmail.com");
        await CheckoutEndpointTests.AssertProblemAsync(await client.PostAsync("api/kavach/auth/polar/portal", null, Ct), HttpStatusCode.Conflict, "no_customer");
    }

    [Fact]
    public async Task Management_routes_follow_the_checkout_rules_for_anonymous_cross_site_and_bursts()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:CheckoutRateLimit"] = "1" } });
        foreach (var route in new[] { "subscription/change", "subscription/cancel", "subscription/resume", "portal" })
        {
            await CheckoutEndpointTests.AssertProblemAsync(await app.Client.PostAsync("api/kavach/auth/polar/" + route, null, Ct), HttpStatusCode.Unauthorized, "unauthenticated");

            using var browser = await app.BrowserForAsync("user-9", "ken.t@gmail.com");
            var cross = new HttpRequestMessage(HttpMethod.Post, "api/kavach/auth/polar/" + route) { Content = JsonContent.Create(new { productId = Team }) };
            cross.Headers.Add("Origin", "https://evil.example");
            await CheckoutEndpointTests.AssertProblemAsync(await browser.SendAsync(cross, Ct), HttpStatusCode.Forbidden, "cross_site_request");
        }

        using var client = app.ClientFor("user-10", "dennis.r@gmail.com");
        await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct);
        var second = await client.PostAsync("api/kavach/auth/polar/subscription/cancel", null, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(second, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Fact]
    public async Task Polar_rate_limiting_a_plan_change_is_answered_503_with_its_retry_after()
    {
        using var client = App.ClientFor("user-11", "niklaus.w@gmail.com");
        await SubscribeAsync(Polar, client, Pro);
        Polar.InjectFault(HttpMethod.Patch, "/v1/subscriptions/", 429, retryAfter: TimeSpan.FromSeconds(42));

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/subscription/change", new { productId = Team }, Ct);

        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.Equal(TimeSpan.FromSeconds(42), response.Headers.RetryAfter?.Delta);
        Assert.Equal(Pro, (string?)(await SubscriptionAsync(client))!["productId"]);
    }

    /// <summary>
    /// Subscribes the signed-in user as a browser would: a 503 (the database slower than DatabaseTimeout on a loaded
    /// machine) is tried again after a moment, as the problem's Retry-After asks, for at most a minute.
    /// </summary>
    internal static async Task<EmulatorPaymentResult> SubscribeAsync(PolarEmulator polar, HttpClient client, string productId)
    {
        var response = await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId }, Ct), Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var payment = await polar.PayCheckoutAsync((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!, cancellationToken: Ct);
        await polar.WaitForDeliveriesAsync(Ct);
        return payment;
    }

    private static async Task<JsonNode?> SubscriptionAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"];
}
