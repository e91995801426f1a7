using System.Security.Claims;
using System.Text.Encodings.Web;
using BenchmarkDotNet.Attributes;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Benchmarks;

/// <summary>
/// One GET through a host's real middleware (routing, header authentication, authorization, the endpoint), for the
/// same endpoint without authorization, with <c>RequireAuthorization()</c>, with <c>RequireSubscription()</c> (with
/// and without a product), with the <see cref="KavachPolarPolicies.Subscribed"/> policy, and with <c>RequireBenefit()</c>
/// (by id and by slug), for a subscribed user holding the benefit
/// whose state is in the read cache. The difference between <c>Open</c> and a gated method is what the gate costs a
/// request; allocations are exact even on a loaded machine.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class GateBenchmarks
{
    private const string UserId = "bench-user";
    private const string ProductId = "8d1f5c5e-0b8a-4d8e-9d55-6b1f1e1a2c3d";
    private const string BenefitId = "3a9e7c1d-5b2f-4e8a-9c6d-1f0b2a3c4d5e";

    private WebApplication _host = null!;
    private IServiceProvider _services = null!;
    private IServiceScopeFactory _scopes = null!;
    private RequestDelegate _pipeline = null!;

    [GlobalSetup]
    public void Setup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        var services = builder.Services;
        services.AddKavachPolar(o =>
        {
            o.AccessToken = "polar_oat_bench";
            o.WebhookSecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";
            o.Products["pro"] = ProductId;
            o.Benefits["downloads"] = BenefitId;
        });
        services.AddAuthentication("Header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("Header", null);
        services.AddAuthorization();
        _host = builder.Build();
        _services = _host.Services;
        _scopes = _services.GetRequiredService<IServiceScopeFactory>();

        // The user's state as the reader leaves it in the cache after one query (no listener: one process serves).
        var cache = _services.GetRequiredService<SubscriptionCache>();
        var current = new KavachSubscription { Id = "sub-1", Status = "active", ProductId = ProductId, CurrentPeriodEnd = DateTimeOffset.UtcNow.AddDays(30) };
        cache.Set(UserId, new CachedUser(current, [ProductId], ["0d8c6b5a-4e3f-4a2b-9c1d-7e6f5a4b3c2d", BenefitId]), cache.Stamp(UserId));

        var app = new ApplicationBuilder(_services);
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseEndpoints(e =>
        {
            e.MapGet("/open", () => "ok");
            e.MapGet("/authenticated", () => "ok").RequireAuthorization();
            e.MapGet("/gated", () => "ok").RequireSubscription();
            e.MapGet("/gated-product", () => "ok").RequireSubscription("pro");
            e.MapGet("/policy", () => "ok").RequireAuthorization(KavachPolarPolicies.Subscribed);
            e.MapGet("/benefit", () => "ok").RequireBenefit(BenefitId);
            e.MapGet("/benefit-slug", () => "ok").RequireBenefit("downloads");
        });
        _pipeline = app.Build();

        foreach (var path in new[] { "/open", "/authenticated", "/gated", "/gated-product", "/policy", "/benefit", "/benefit-slug" })
        {
            var status = Run(path).GetAwaiter().GetResult();
            if (status != 200)
            {
                throw new InvalidOperationException($"{path} answered {status}, not 200: the benchmark would measure a refusal");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public Task<int> Open() => Run("/open");

    [Benchmark]
    public Task<int> Authenticated() => Run("/authenticated");

    [Benchmark]
    public Task<int> RequireSubscription() => Run("/gated");

    [Benchmark]
    public Task<int> RequireSubscription_of_a_product_slug() => Run("/gated-product");

    [Benchmark]
    public Task<int> Subscribed_policy() => Run("/policy");

    [Benchmark]
    public Task<int> RequireBenefit() => Run("/benefit");

    [Benchmark]
    public Task<int> RequireBenefit_of_a_slug() => Run("/benefit-slug");

    private async Task<int> Run(string path)
    {
        // A scope per request, as the host's RequestServicesFeature makes one for every request that asks.
        await using var scope = _scopes.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Request.Headers["X-User"] = UserId;
        context.Response.Body = Stream.Null;
        await _pipeline(context).ConfigureAwait(false);
        return context.Response.StatusCode;
    }

    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers["X-User"].ToString();
            if (user.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "Header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Header")));
        }
    }
}
