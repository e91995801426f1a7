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
    private Task<KavachTestApp> StartAppAsync(params (string Key, string Value)[] settings) =>
        KavachTestApp.StartAsync(Db.ConnectionString, _polar, settings.ToDictionary(s => "KavachPolar:" + s.Key, s => (string?)s.Value));

    [Fact]
    public async Task Calls_over_this_instances_budget_are_not_sent_and_answer_503_with_retry_after()
    {
        await using var app = await StartAppAsync(("PolarRequestsPerMinute", "4"));
        using var first = app.ClientFor("user-1", "first.user@gmail.com");
        using var second = app.ClientFor("user-2", "second.user@gmail.com");

        // Look up, create the customer, create the checkout: three calls.
        Assert.Equal(HttpStatusCode.OK, (await first.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct)).StatusCode);
        var response = await second.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = _polar.Products[0].Id }, Ct);

        await CheckoutEndpointTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "polar_rate_limited");
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.Equal(4, _polar.ApiRequests.Count);
        Assert.DoesNotContain(_polar.Customers, c => c.ExternalId == "user-2");
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1005]", StringComparison.Ordinal));
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
