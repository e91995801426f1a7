using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Services;

/// <summary>Cancel, resume and reconcile, against the emulator, with webhooks delivered or missed.</summary>
public sealed class SubscriptionServiceTests : PolarAppTest
{
    protected override PolarEmulatorOptions EmulatorOptions()
    {
        var options = FastRetries();
        options.WebhookMaxAttempts = 2;
        return options;
    }

    private async Task<(string CheckoutId, EmulatorPaymentResult Payment)> SubscribeAsync(HttpClient client, int product = 0)
    {
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[product].Id }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = (string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!;
        var payment = await Polar.PayCheckoutAsync(id, cancellationToken: Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        return (id, payment);
    }

    private void MissWebhooks() => Polar.EnableWebhookEndpoint(WebhookEndpoint!.Id, enabled: false);

    [Fact]
    public async Task The_success_page_reconcile_shows_the_subscription_even_when_every_webhook_was_missed()
    {
        MissWebhooks();
        using var client = App.ClientFor("user-1", "ada.lovelace@gmail.com");
        var (checkoutId, payment) = await SubscribeAsync(client);
        var before = await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct);
        Assert.Null(before!["subscription"]);

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId }, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sub = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]!;
        Assert.Equal(payment.SubscriptionId, (string?)sub["id"]);
        Assert.Equal("active", (string?)sub["status"]);

        await KavachTestApp.EventuallyAsync(() => !App.Changes.IsEmpty);
        Assert.Equal("reconcile", Assert.Single(App.Changes).EventType);
    }

    [Fact]
    public async Task Reconciling_someone_elses_checkout_is_a_404_and_changes_nothing()
    {
        MissWebhooks();
        using var owner = App.ClientFor("user-2", "grace.hopper@gmail.com");
        var (checkoutId, _) = await SubscribeAsync(owner);

        using var intruder = App.ClientFor("user-3", "mallory.intruder@gmail.com");
        var response = await intruder.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
        Assert.Null((await intruder.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("0b7f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b")]
    public async Task Reconciling_an_unknown_checkout_is_a_404(string checkoutId)
    {
        using var client = App.ClientFor("user-4", "k.johnson@gmail.com");
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Reconciling_a_user_repairs_a_revoke_whose_webhooks_were_missed()
    {
        using var client = App.ClientFor("user-5", "mary.jackson@gmail.com");
        var (_, payment) = await SubscribeAsync(client);
        Assert.NotNull((await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);

        MissWebhooks();
        await Polar.RevokeSubscriptionAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.NotNull((await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);

        var response = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null((await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["subscription"]);
        await KavachTestApp.EventuallyAsync(() => App.Changes.Any(c => c.EventType == "reconcile" && c.Current is null));
    }

    [Fact]
    public async Task Reconcile_all_repairs_every_user()
    {
        MissWebhooks();
        foreach (var (id, email) in new[] { ("user-6", "d.vaughan@gmail.com"), ("user-7", "a.turing@gmail.com") })
        {
            using var client = App.ClientFor(id, email);
            await SubscribeAsync(client);
        }

        await using var scope = App.Services.CreateAsyncScope();
        var service = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>();
        var summary = await service.ReconcileAllAsync(Ct);
        Assert.Equal(2, summary.SubscriptionsRead);
        Assert.Equal(2, summary.Changes);
        Assert.Null(summary.ErrorCode);
        Assert.Equal("active", (await service.GetSubscriptionAsync("user-6", Ct))!.Status);
        Assert.Equal("active", (await service.GetSubscriptionAsync("user-7", Ct))!.Status);

        var again = await service.ReconcileAllAsync(Ct);
        Assert.Equal(0, again.Changes);
    }

    [Fact]
    public async Task Cancel_and_resume_go_through_polar_and_show_locally_at_once()
    {
        MissWebhooks(); // the local state must not depend on the webhook racing the answer
        using var client = App.ClientFor("user-8", "hedy.lamarr@gmail.com");
        var (checkoutId, payment) = await SubscribeAsync(client);
        await client.PostAsJsonAsync("api/kavach/auth/polar/reconcile", new { checkoutId }, Ct);

        await using var scope = App.Services.CreateAsyncScope();
        var service = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>();
        var canceled = await service.CancelAtPeriodEndAsync("user-8", Ct);
        Assert.True(canceled.Succeeded, canceled.ErrorCode);
        Assert.True(canceled.Subscription!.CancelAtPeriodEnd);
        Assert.Equal("active", canceled.Subscription.Status);
        Assert.True((bool)JsonNode.Parse(Polar.GetSubscriptionJson(payment.SubscriptionId))!["cancel_at_period_end"]!);

        // Changed with the management routes: cancelling what is already scheduled to cancel succeeds without asking
        // Polar (which would answer 403 AlreadyCanceledSubscription); this used to expect that refusal.
        var eventsBefore = Polar.Events.Count;
        var again = await service.CancelAtPeriodEndAsync("user-8", Ct);
        Assert.True(again.Succeeded, again.ErrorCode);
        Assert.False(again.Changed);
        Assert.True(again.Subscription!.CancelAtPeriodEnd);
        Assert.Equal(eventsBefore, Polar.Events.Count);

        var resumed = await service.ResumeAsync("user-8", Ct);
        Assert.True(resumed.Succeeded, resumed.ErrorCode);
        Assert.False(resumed.Subscription!.CancelAtPeriodEnd);
        Assert.False((bool)JsonNode.Parse(Polar.GetSubscriptionJson(payment.SubscriptionId))!["cancel_at_period_end"]!);
    }

    [Fact]
    public async Task Cancel_without_a_subscription_says_so_without_calling_polar()
    {
        await using var scope = App.Services.CreateAsyncScope();
        var service = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>();
        var result = await service.CancelAtPeriodEndAsync("nobody", Ct);
        Assert.False(result.Succeeded);
        Assert.Equal("no_subscription", result.ErrorCode);
    }

    [Fact]
    public async Task A_scheduled_cancellation_ends_in_revocation_at_period_end()
    {
        using var client = App.ClientFor("user-9", "b.liskov@gmail.com");
        var (_, payment) = await SubscribeAsync(client);
        await Polar.CancelSubscriptionAsync(payment.SubscriptionId, atPeriodEnd: true, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        var sub = (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!;
        Assert.True((bool)sub["cancelAtPeriodEnd"]!);
        Assert.Equal("active", (string?)sub["status"]);

        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Null((await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]);
        Assert.Equal("canceled", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users WHERE id = 'user-9'", Ct));
    }

    [Fact]
    public async Task Renewal_failure_and_recovery_move_through_past_due()
    {
        using var client = App.ClientFor("user-10", "f.allen@gmail.com");
        var (_, payment) = await SubscribeAsync(client);
        await Polar.FailRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal("past_due", (string?)(await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!["status"]);

        await Polar.RecoverRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal("active", (string?)(await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!["status"]);
    }

    [Fact]
    public async Task Reconcile_when_polar_is_down_gives_502_and_keeps_local_state()
    {
        using var client = App.ClientFor("user-11", "m.hamilton@gmail.com");
        await SubscribeAsync(client);
        Polar.InjectFault(HttpMethod.Get, "/v1/subscriptions/", 500, count: 10);
        var response = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.BadGateway, "polar_unavailable");
        Assert.Equal("active", (string?)(await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct))!["subscription"]!["status"]);
    }

    [Fact]
    public async Task Service_calls_leave_the_hosts_own_pending_changes_alone()
    {
        MissWebhooks();
        using var client = App.ClientFor("user-12", "n.wirth@gmail.com");
        await SubscribeAsync(client);

        await using var scope = App.Services.CreateAsyncScope();
        var hostDb = scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.KavachPolarDbContext>();
        hostDb.KavachUsers.Add(new KavachPolar.Storage.KavachUser { Id = "added-by-host", Email = "host@gmail.com", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
        var service = scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>();
        var result = await service.ReconcileUserAsync("user-12", Ct);
        Assert.True(result.Succeeded);
        Assert.Equal("active", result.Subscription!.Status);

        await hostDb.SaveChangesAsync(Ct);
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users WHERE id = 'added-by-host'", Ct));
    }

    [Fact]
    public async Task One_reconcile_that_changes_a_user_twice_gives_each_change_its_own_event_id()
    {
        // Two live subscriptions need an organization that allows them, in Polar and in KavachPolar.
        // A database of its own: on the class's database the class's app would run a dispatcher too, and deliver some
        // of this app's callbacks to its own handler (the cause of this test's failures under load).
        var options = new PolarEmulatorOptions { AllowMultipleSubscriptions = true };
        await using var db = await PostgresDatabase.CreateAsync(Ct);
        await using var polar = await PolarEmulator.StartAsync(options, Ct);
        await using var app = await KavachTestApp.StartAsync(db.ConnectionString, polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AllowMultipleSubscriptions"] = "true" } });
        using var client = app.ClientFor("user-13", "j.backus@gmail.com");
        foreach (var product in new[] { 0, 1 })
        {
            var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[product].Id }, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await polar.PayCheckoutAsync((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["id"]!, cancellationToken: Ct);
        }

        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileUserAsync("user-13", Ct);
        // Every queued callback has run once the outbox is empty; then the list is complete (a count that overshoots
        // is reported with what ran, rather than as a timeout).
        await Wait.UntilAsync(
            () => Task.FromResult(app.Changes.Count(c => c.UserId == "user-13") >= 2),
            TimeSpan.FromSeconds(30),
            "both changes reach OnSubscriptionChange",
            describe: async () =>
            {
                var queued = await db.QueryAsync("SELECT id, user_id, attempts, next_attempt_at_us, locked_until_us, last_error FROM kavach_polar_callbacks ORDER BY id", Ct);
                var users = await db.QueryAsync("SELECT id, polar_subscription_id, polar_subscription_status FROM kavach_users", Ct);
                return "changes: " + string.Join("; ", app.Changes.Select(c => $"{c.UserId} {c.EventId} {c.Previous?.Id}->{c.Current?.Id}"))
                    + " | queued: " + string.Join("; ", queued.Select(r => string.Join(",", r.Select(kv => $"{kv.Key}={kv.Value}"))))
                    + " | users: " + string.Join("; ", users.Select(r => string.Join(",", r.Select(kv => $"{kv.Key}={kv.Value}"))))
                    + " | log: " + string.Join(" / ", app.Logs.Lines.Where(l => l.StartsWith("Warn", StringComparison.Ordinal) || l.StartsWith("Err", StringComparison.Ordinal) || l.StartsWith("Fail", StringComparison.Ordinal)).TakeLast(10));
            });
        await Wait.ForOutboxToDrainAsync(db, Ct);
        var changes = app.Changes.Where(c => c.UserId == "user-13").ToList();
        var ids = changes.Select(c => c.EventId).ToList();
        Assert.True(changes.Count == 2, "changes: " + string.Join("; ", changes.Select(c => $"{c.EventId} {c.Previous?.Id}->{c.Current?.Id}")));
        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids, id => Assert.StartsWith("reconcile:", id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Polar_rate_limiting_a_lookup_is_answered_at_once_with_its_retry_after()
    {
        Polar.InjectFault(HttpMethod.Get, "/v1/customers/external/", 429, count: 5, retryAfter: TimeSpan.FromSeconds(60));
        using var client = App.ClientFor("user-14", "r.perlman@gmail.com");
        var started = DateTime.UtcNow;
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[0].Id }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "a 429 must not be retried inside the request");
    }

    [Fact]
    public async Task A_wrong_api_base_url_is_reported_as_an_unexpected_response_not_a_missing_customer()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { PolarApi = new Uri(Polar.BaseUrl, "wrong-prefix/"), Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = Polar.AccessToken } });
        using var client = app.ClientFor("user-15", "k.thompson@gmail.com");
        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[0].Id }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.BadGateway, "polar_unexpected_response");
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1003]", StringComparison.Ordinal) && l.Contains("KavachPolar:ApiBaseUrl", StringComparison.Ordinal));
        Assert.Empty(Polar.Customers);
    }

    [Fact]
    public async Task An_oversized_chunked_reconcile_body_gets_413()
    {
        using var client = App.ClientFor("user-16", "b.s@gmail.com");
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("{\"checkoutId\":\"" + new string('a', 100_000) + "\"}")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "api/kavach/auth/polar/reconcile") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await CheckoutEndpointTests.AssertProblemAsync(await client.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task A_transient_polar_error_on_a_read_is_retried_but_never_on_a_write()
    {
        using var client = App.ClientFor("user-17", "l.lamport@gmail.com");
        await SubscribeAsync(client);

        Polar.InjectFault(HttpMethod.Get, "/v1/subscriptions/", 503, count: 1);
        var read = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        // A user with no subscription yet (a subscribed one gets 409 already_subscribed before any call to Polar).
        using var other = App.ClientFor("user-17b", "l.lamport.2@gmail.com");
        var before = (await PolarRest.CheckoutsAsync(Polar, Ct)).Count;
        Polar.InjectFault(HttpMethod.Post, "/v1/checkouts/", 503, count: 1);
        var write = await other.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[1].Id }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(write, HttpStatusCode.BadGateway, "polar_unavailable");
        Assert.Equal(before, (await PolarRest.CheckoutsAsync(Polar, Ct)).Count);

        // Not retried: had it been, the fault (one answer only) would have been followed by a checkout.
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = Polar.Products[1].Id }, Ct)).StatusCode);
        Assert.Equal(before + 1, (await PolarRest.CheckoutsAsync(Polar, Ct)).Count);
    }
}
