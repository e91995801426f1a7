using System.Security.Claims;
using KavachPolar.Authorization;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KavachPolar.Tests.Authorization;

/// <summary>
/// The gate's handler for a user whose state is in the read cache: it decides at once (no task left running, no database),
/// allocates nothing beyond what reading the user id claim costs, and still follows the configuration's product slugs when they are reloaded. Allocation is a count,
/// not a timing. The answers the gate gives on a real host, including misses and refusals, are in
/// <see cref="SubscriptionGateTests"/>.
/// </summary>
public sealed class GateFastPathTests : IDisposable
{
    private const string ProId = "5b0c3a0e-3d1f-4c41-9a43-8b8f7f0e2a11";
    private const string TeamId = "0f6e0a53-93d4-4d3a-8f6a-1c1ef4f3d9b2";
    private const string UserId = "cached-user";

    private readonly IHost _host;
    private readonly IConfigurationRoot _configuration;
    private readonly IAuthorizationHandler _gate;
    private readonly SubscriptionCache _cache;
    private readonly ClaimsPrincipal _user = new(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, UserId)], "Test"));

    public GateFastPathTests()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KavachPolar:AccessToken"] = "polar_oat_x",
            ["KavachPolar:WebhookSecret"] = "whsec_x",
            ["KavachPolar:Products:pro"] = ProId,
        });
        builder.Services.AddKavachPolar();
        _host = builder.Build();
        _configuration = (IConfigurationRoot)_host.Services.GetRequiredService<IConfiguration>();
        _gate = Assert.Single(_host.Services.GetServices<IAuthorizationHandler>(), h => h.GetType().Assembly == typeof(KavachPolarOptions).Assembly);
        _cache = _host.Services.GetRequiredService<SubscriptionCache>();
        var current = new KavachSubscription { Id = "sub-1", Status = "active", ProductId = ProId };
        _cache.Set(UserId, new CachedUser(current, [ProId]), _cache.Stamp(UserId));
    }

    public void Dispose() => _host.Dispose();

    public static TheoryData<string[]> Entitling => new()
    {
        Array.Empty<string>(),
        new[] { "pro" },
        new[] { ProId.ToUpperInvariant() },
        new[] { "team", ProId },
    };

    [Theory]
    [MemberData(nameof(Entitling))]
    public void A_cached_subscribed_user_passes_at_once_allocating_only_what_reading_the_user_id_claim_does(string[] products)
    {
        var contexts = Contexts(SubscriptionRequirement.Policy(products), 300);

        var allocated = AllocatedPerCall(contexts.Length, i => AssertDecidedAtOnce(_gate.HandleAsync(contexts[i])));

        Assert.All(contexts, c => Assert.DoesNotContain(c.PendingRequirements, r => r is SubscriptionRequirement));
        Assert.True(allocated <= ClaimLookupBytes(), $"the gate allocated {allocated} B a request; reading the claim takes {ClaimLookupBytes()} B");
    }

    [Fact]
    public void The_subscribed_policy_passes_a_cached_subscribed_user_allocating_only_what_reading_the_user_id_claim_does()
    {
        var policy = _host.Services.GetRequiredService<IOptions<AuthorizationOptions>>().Value.GetPolicy(KavachPolarPolicies.Subscribed)!;
        var contexts = Contexts(policy, 300);

        var allocated = AllocatedPerCall(contexts.Length, i => AssertDecidedAtOnce(_gate.HandleAsync(contexts[i])));

        Assert.All(contexts, c => Assert.DoesNotContain(c.PendingRequirements, r => r is SubscriptionRequirement));
        Assert.True(allocated <= ClaimLookupBytes(), $"the gate allocated {allocated} B a request; reading the claim takes {ClaimLookupBytes()} B");
    }

    [Fact]
    public void A_cached_user_without_the_product_is_refused_with_subscription_required_at_once()
    {
        var context = Contexts(SubscriptionRequirement.Policy(["team"]), 1)[0];

        AssertDecidedAtOnce(_gate.HandleAsync(context));

        Assert.True(context.HasFailed);
        Assert.Equal(KavachPolarErrorCodes.SubscriptionRequired, Assert.Single(context.FailureReasons).Message);
    }

    [Fact]
    public void A_slug_follows_the_configuration_when_it_is_reloaded()
    {
        var policy = SubscriptionRequirement.Policy(["pro"]);
        var first = Contexts(policy, 1)[0];
        AssertDecidedAtOnce(_gate.HandleAsync(first));
        Assert.False(first.HasFailed);

        // "pro" now names another product, which the cached user does not have.
        _configuration["KavachPolar:Products:pro"] = TeamId;
        _configuration.Reload();

        var second = Contexts(policy, 1)[0];
        AssertDecidedAtOnce(_gate.HandleAsync(second));
        Assert.True(second.HasFailed);
    }

    private AuthorizationHandlerContext[] Contexts(AuthorizationPolicy policy, int count)
    {
        var http = new DefaultHttpContext();
        return [.. Enumerable.Range(0, count).Select(_ => new AuthorizationHandlerContext(policy.Requirements, _user, http))];
    }

    /// <summary>What ClaimsPrincipal.FindFirst allocates for the user id (its claims iterator), which no handler can avoid.</summary>
    private long ClaimLookupBytes() => AllocatedPerCall(300, _ => Assert.Equal(UserId, _user.FindFirst(ClaimTypes.NameIdentifier)?.Value));

    /// <summary>Bytes allocated per call over the last 100 of <paramref name="calls"/> calls (the first ones warm up).</summary>
    private static long AllocatedPerCall(int calls, Action<int> call)
    {
        var before = 0L;
        for (var i = 0; i < calls; i++)
        {
            if (i == calls - 100)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            call(i);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
    }

    private static void AssertDecidedAtOnce(Task handled) => Assert.True(handled.IsCompletedSuccessfully, "the gate went to the database for a cached user");
}
