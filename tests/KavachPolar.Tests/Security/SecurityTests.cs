using System.Net;
using System.Net.Http.Json;
using System.Threading.RateLimiting;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Security;

public sealed class SecurityTests : DatabaseTest
{
    [Fact]
    public async Task Tokens_secrets_and_signatures_never_reach_the_logs()
    {
        await using var polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, polar);
        polar.AddWebhookEndpoint(app.WebhookUrl, KavachTestApp.DefaultSecret);

        // A full run: checkout, payment, webhooks (valid, duplicate, tampered, wrong secret), a rejected token.
        using var client = app.ClientFor("user-1", "ada.lovelace@gmail.com");
        await Endpoints.ManagementEndpointTests.SubscribeAsync(polar, client, polar.Products[0].Id); // checkout and payment; a 503 under load is tried again
        var signatures = new List<string>();
        var body = Compact(Example("subscription.created.json"));
        foreach (var signer in new[] { app.Signer, new PolarWebhookSigner("whsec_wrong_secret_for_this_test") })
        {
            var request = signer.CreateRequest(app.WebhookUrl, body);
            signatures.Add(request.Headers.GetValues("webhook-signature").Single());
            await app.Client.SendAsync(request, Ct);
        }

        await using var badTokenApp = await KavachTestApp.StartAsync(Db.ConnectionString, new() { PolarApi = polar.BaseUrl, Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = "polar_oat_leaky_token_value_123" } });
        using var other = badTokenApp.ClientFor("user-2", "grace.hopper@gmail.com");
        await other.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[0].Id }, Ct);

        var logs = app.Logs.AllText + badTokenApp.Logs.AllText;
        Assert.NotEmpty(app.Logs.Lines);
        Assert.DoesNotContain(polar.AccessToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain("polar_oat_leaky_token_value_123", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(KavachTestApp.DefaultSecret, logs, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", logs, StringComparison.Ordinal);
        foreach (var signature in signatures.Concat(polar.Deliveries.Select(d => d.Signature)))
        {
            Assert.DoesNotContain(signature["v1,".Length..], logs, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("\"current_period_end\"", logs, StringComparison.Ordinal); // no webhook bodies
    }

    [Fact]
    public async Task A_secret_is_rotated_without_restart()
    {
        const string oldSecret = "whsec_old_secret_used_before_rotation";
        var newSecret = PolarWebhookSigner.CreateStandardSecret();
        var config = new MutableConfigurationSource();
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Secret = oldSecret, Configuration = c => c.Add(config) });
        var oldSigner = new PolarWebhookSigner(oldSecret);
        var newSigner = new PolarWebhookSigner(newSecret, PolarWebhookSigningMode.Standard);

        async Task<HttpStatusCode> SendAsync(PolarWebhookSigner signer)
        {
            var payload = Subscription("subscription.updated", "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a");
            return (await app.Client.SendAsync(signer.CreateRequest(app.WebhookUrl, Compact(payload)), Ct)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(oldSigner));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(newSigner));

        config.Instance.Change(d =>
        {
            d["KavachPolar:WebhookSecret"] = newSecret;
            d["KavachPolar:WebhookSecrets:0"] = oldSecret;
        });
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(newSigner));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(oldSigner));

        config.Instance.Change(d => d.Remove("KavachPolar:WebhookSecrets:0"));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(newSigner));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(oldSigner));
    }

    [Fact]
    public async Task A_hosts_global_rate_limiter_never_throttles_polars_deliveries()
    {
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Services = s => s.AddRateLimiter(o =>
                {
                    o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                    o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ => RateLimitPartition.GetFixedWindowLimiter("all", _ => new FixedWindowRateLimiterOptions { PermitLimit = 1, Window = TimeSpan.FromMinutes(1) }));
                }),
                Pipeline = a => a.UseRateLimiter(),
            });

        Assert.Equal(HttpStatusCode.NotFound, (await app.Client.GetAsync("nothing-here", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await app.Client.GetAsync("nothing-here", Ct)).StatusCode);
        for (var i = 0; i < 20; i++)
        {
            var response = await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
    }
}
