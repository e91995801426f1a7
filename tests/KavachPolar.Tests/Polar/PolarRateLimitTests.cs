using System.Net;
using System.Net.Http.Json;
using KavachPolar.Services;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KavachPolar.Tests.Polar;

/// <summary>
/// Polar's rate limit belongs to the organization: this instance keeps to a budget, stops sending while Polar asks
/// to wait, shares one reconcile among a user's concurrent requests, and limits reconciles apart from checkouts.
/// </summary>
public sealed class PolarRateLimitTests : DatabaseTest
{
    private PolarEmulator _polar = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await _polar.DisposeAsync();
        await base.DisposeAsyncCore();
    }

    /// <summary>An app on this test's database and emulator with the given <c>KavachPolar:</c> settings.</summary>
    /// <summary>
    /// An app with <paramref name="settings"/> and a 30 s database budget unless they set one: these tests are about
    /// Polar's answers, and a first checkout on a loaded machine outlasted the default 5 s (<c>store_unavailable</c>
    /// where the test waited for <c>polar_rate_limited</c>, under two test suites at once).
    /// </summary>
    private Task<KavachTestApp> StartAppAsync(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?> { ["KavachPolar:DatabaseTimeout"] = "00:00:30" };
        foreach (var (key, value) in settings)
        {
            all["KavachPolar:" + key] = value;
        }

        return KavachTestApp.StartAsync(Db.ConnectionString, _polar, new() { Settings = all });
    }

    [Fact]
    public async Task Calls_over_this_instances_budget_are_not_sent_and_answer_503_with_retry_after()
    {
        await using var app = await StartAppAsync(("PolarRequestsPerMinute", "4"));

        // An unknown user's reconcile lists twice (by external id, by metadata). Alone, user-1 may have half the
        // budget (2); then each newcomer's share is 1 (4 / 3, 4 / 4), until the four calls of the minute are spent.
        Assert.Equal(HttpStatusCode.OK, (await ReconcileAsync(app, "user-1")).StatusCode);
        Assert.Equal(2, _polar.ApiRequests.Count);
        await CheckoutEndpointTests.AssertProblemAsync(await ReconcileAsync(app, "user-2"), HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        await CheckoutEndpointTests.AssertProblemAsync(await ReconcileAsync(app, "user-3"), HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.Equal(4, _polar.ApiRequests.Count);
        var response = await ReconcileAsync(app, "user-4");

        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.Equal(4, _polar.ApiRequests.Count);
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1005]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task One_users_burst_takes_at_most_its_fair_share_and_another_users_checkout_still_goes_out()
    {
        await using var app = await StartAppAsync(("PolarRequestsPerMinute", "12"), ("ReconcileRateLimit", "100"));

        // Alone, a user's share is half the budget: one share always stays free for whoever comes next.
        var refused = await BurstAsync(app, "user-1", 20);
        await CheckoutEndpointTests.AssertProblemAsync(refused!, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.NotNull(refused!.Headers.RetryAfter?.Delta);
        Assert.Equal(6, _polar.ApiRequests.Count);
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1007]", StringComparison.Ordinal) && l.Contains("user-1", StringComparison.Ordinal));

        // Look up, create the customer, create the checkout: three calls, within the newcomer's share of 12 / 3.
        using var other = app.ClientFor("user-2", "second.user@gmail.com");
        var checkout = await other.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct);
        Assert.Equal(HttpStatusCode.OK, checkout.StatusCode);
        Assert.Contains(_polar.Customers, c => c.ExternalId == "user-2");
    }

    [Fact]
    public async Task A_burst_from_twenty_accounts_leaves_a_new_users_checkout_working()
    {
        // The sandbox's budget; route limits out of the way, so that only the Polar budget stands between the accounts.
        await using var app = await StartAppAsync(("PolarRequestsPerMinute", "100"), ("ReconcileRateLimit", "1000"));

        // Twenty accounts at once, each reconciling until Polar's budget refuses it. "At once" is established, not hoped
        // for: each account makes one call before any bursts, so all twenty are active when the shares are computed (on a
        // loaded machine the first accounts otherwise ran alone for a while, and calls made under a larger share stay
        // counted for the minute: the limit the README states).
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 20).Select(i => ReconcileAsync(app, $"burst-{i}"))), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var refusals = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => BurstAsync(app, $"burst-{i}", 50)));
        Assert.All(refusals, r => Assert.NotNull(r));
        var spent = _polar.ApiRequests.Count;
        Assert.InRange(spent, 20, 100);

        using var newcomer = app.ClientFor("new-user", "new.user@gmail.com");
        var checkout = await newcomer.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct);

        Assert.True(checkout.StatusCode == HttpStatusCode.OK, $"{checkout.StatusCode} after the accounts spent {spent} calls: {await checkout.Content.ReadAsStringAsync(Ct)}");
        Assert.Contains(_polar.Customers, c => c.ExternalId == "new-user");
    }

    /// <summary>Reconciles <paramref name="userId"/> until Polar's budget refuses it; returns the refusal (null if none in <paramref name="max"/>).</summary>
    private static async Task<HttpResponseMessage?> BurstAsync(KavachTestApp app, string userId, int max)
    {
        for (var i = 0; i < max; i++)
        {
            var response = await ReconcileAsync(app, userId);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return response;
            }
        }

        return null;
    }

    private static async Task<HttpResponseMessage> ReconcileAsync(KavachTestApp app, string userId)
    {
        using var client = app.ClientFor(userId, userId + "@gmail.com");
        return await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);
    }

    [Fact]
    public async Task While_polar_asks_to_wait_nothing_from_this_instance_is_sent()
    {
        await using var app = await StartAppAsync();
        _polar.InjectFault(HttpMethod.Post, "/v1/checkouts/", 429, retryAfter: TimeSpan.FromSeconds(30));
        using var first = app.ClientFor("user-3", "third.user@gmail.com");
        var refused = await first.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        var sent = _polar.ApiRequests.Count;

        using var second = app.ClientFor("user-4", "fourth.user@gmail.com");
        var held = await second.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct);

        await CheckoutEndpointTests.AssertProblemAsync(held, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.True(held.Headers.RetryAfter?.Delta > TimeSpan.FromSeconds(20), $"Retry-After {held.Headers.RetryAfter}");
        Assert.Equal(sent, _polar.ApiRequests.Count);
    }

    [Fact]
    public async Task Concurrent_reconciles_of_one_user_share_one_run()
    {
        await using var app = await StartAppAsync(("ReconcileRateLimit", "10"), ("DatabaseTimeout", "00:00:30"));
        using var client = app.ClientFor("user-5", "fifth.user@gmail.com");
        await ManagementEndpointTests.SubscribeAsync(_polar, client, _polar.Products[0].Id);
        var before = _polar.ApiRequests.Count(r => r.Path == "/v1/subscriptions/");
        var coalescer = app.Services.GetRequiredService<ReconcileCoalescer>();

        // A run starts by reading the user's row: with kavach_users locked, the first run waits there until all five
        // requests have come in, so that none can start a run of its own after the first one ends.
        Task<HttpResponseMessage[]> reconciles;
        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var transaction = await connection.BeginTransactionAsync(Ct);
            await using (var lockUsers = new NpgsqlCommand("LOCK TABLE kavach_users IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await lockUsers.ExecuteNonQueryAsync(Ct);
            }

            reconciles = Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)));
            await Wait.UntilAsync(() => Task.FromResult(coalescer.Callers("user-5") == 5), because: "five reconciles join one run");
            await transaction.RollbackAsync(Ct);
        }

        var responses = await reconciles;
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // One run lists three ways (external id, metadata, bound customer); five separate runs would list fifteen times.
        Assert.Equal(3, _polar.ApiRequests.Count(r => r.Path == "/v1/subscriptions/") - before);
    }

    [Fact]
    public async Task Reconcile_has_its_own_per_user_limit_apart_from_checkout()
    {
        await using var app = await StartAppAsync(("ReconcileRateLimit", "2"), ("CheckoutRateLimit", "5"));
        using var client = app.ClientFor("user-6", "sixth.user@gmail.com");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);

        var third = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(third, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct)).StatusCode);
    }
}
