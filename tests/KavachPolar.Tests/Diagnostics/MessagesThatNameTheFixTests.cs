using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Diagnostics;

/// <summary>
/// What a newcomer meets first: an API root copied with its <c>/v1</c>, a wrong webhook secret, an unreachable Polar,
/// and the noise of every Polar call in a default host's log.
/// </summary>
public sealed class MessagesThatNameTheFixTests : DatabaseTest
{
    [Theory]
    [InlineData("v1")]
    [InlineData("v1/")]
    public async Task An_api_base_url_that_ends_with_v1_reaches_the_same_routes_and_logs_absolute_urls(string suffix)
    {
        await using var polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                PolarApi = new Uri(polar.BaseUrl, suffix),
                Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = polar.AccessToken },
            });
        using var client = app.ClientFor("user-v1", "ines.v@gmail.com");

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[0].Id }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(polar.ApiRequests, r => r.Path.StartsWith("/v1/v1/", StringComparison.Ordinal));
        Assert.Contains(app.Logs.Lines, l => l.Contains("[1006]", StringComparison.Ordinal) && l.Contains(new Uri(polar.BaseUrl, "v1/checkouts/").AbsoluteUri, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Polar_calls_are_logged_at_debug_with_their_absolute_url_and_nothing_at_information()
    {
        await using var polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, polar);
        using var client = app.ClientFor("user-quiet", "quiet.q@gmail.com");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = polar.Products[0].Id }, Ct)).StatusCode);

        // The checkout looks the customer up (a normal 404), creates it, then the checkout: three calls, none above Debug,
        // neither ours nor the resilience pipeline's (Polly reports every attempt at Information by default).
        var polarLines = app.Logs.Collector.GetSnapshot().Where(r => r.Category!.StartsWith("System.Net.Http", StringComparison.Ordinal) || r.Category == "KavachPolar.Polar.PolarApiClient" || r.Category == "Polly").ToList();
        Assert.DoesNotContain(polarLines, r => r.Level >= LogLevel.Information);
        Assert.Contains(polarLines, r => r.Id.Id == 1006 && r.Message.Contains("HTTP 404", StringComparison.Ordinal));
        Assert.Contains(polarLines, r => r.Id.Id == 1006 && r.Message.Contains("v1/checkouts/ with HTTP 201", StringComparison.Ordinal));
    }

    [Fact]
    public void Quieting_polar_calls_attempts_leaves_the_hosts_own_resilience_pipelines_as_the_host_configured_them()
    {
        var services = new ServiceCollection();
        services.Configure<TelemetryOptions>(o => o.SeverityProvider = _ => ResilienceEventSeverity.Error);
        services.AddKavachPolar(o =>
        {
            o.AccessToken = "polar_oat_test";
            o.WebhookSecret = "whsec_test";
        });
        using var provider = services.BuildServiceProvider();
        var severity = provider.GetRequiredService<IOptions<TelemetryOptions>>().Value.SeverityProvider!;
        var context = ResilienceContextPool.Shared.Get(TestContext.Current.CancellationToken);

        SeverityProviderArguments Attempt(string pipeline, ResilienceEventSeverity reported) =>
            new(new ResilienceTelemetrySource(pipeline, null, "Standard-Retry"), new ResilienceEvent(reported, "ExecutionAttempt"), context);

        Assert.Equal(ResilienceEventSeverity.Debug, severity(Attempt("PolarApiClient-standard", ResilienceEventSeverity.Information)));
        Assert.Equal(ResilienceEventSeverity.Error, severity(Attempt("PolarApiClient-standard", ResilienceEventSeverity.Warning)));
        Assert.Equal(ResilienceEventSeverity.Error, severity(Attempt("the-hosts-client-standard", ResilienceEventSeverity.Information)));
        ResilienceContextPool.Shared.Return(context);
    }

    [Fact]
    public async Task An_unreachable_polar_is_logged_with_its_url_the_cause_and_the_setting_that_chose_the_host()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { PolarApi = new Uri("http://127.0.0.1:9/") });
        using var client = app.ClientFor("user-offline", "offline.o@gmail.com");

        var response = await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = "6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c" }, Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var line = Assert.Single(app.Logs.Lines, l => l.Contains("[1002]", StringComparison.Ordinal));
        Assert.Contains("http://127.0.0.1:9/v1/customers/", line, StringComparison.Ordinal);
        Assert.Contains("Connection refused", line, StringComparison.Ordinal);
        Assert.Contains("KavachPolar:ApiBaseUrl", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_webhook_secret_is_explained_once_with_the_setting_and_its_usual_causes_not_at_every_delivery()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString);
        var wrong = new PolarWebhookSigner("whsec_" + Convert.ToBase64String("another endpoint's secret 0123"u8.ToArray()));

        for (var i = 0; i < 24; i++)
        {
            using var request = wrong.CreateRequest(app.WebhookUrl, Compact(Subscription("subscription.created", "c6a0b5e2-1f7d-4c3b-9e8a-2d5f6b7c8a9" + (i % 10), createdAt: DateTimeOffset.UtcNow)), null, null);
            Assert.Equal(HttpStatusCode.Forbidden, (await app.Client.SendAsync(request, Ct)).StatusCode);
        }

        var line = Assert.Single(app.Logs.Lines, l => l.Contains("[2008]", StringComparison.Ordinal));
        Assert.Contains("KavachPolar:WebhookSecret", line, StringComparison.Ordinal);
        Assert.Contains("another endpoint", line, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("invalid_signature", StringComparison.Ordinal) && l.Contains("[2001]", StringComparison.Ordinal));
    }
}
