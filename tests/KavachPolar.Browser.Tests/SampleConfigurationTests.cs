using KavachPolar.Sample.Hosting;
using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Browser.Tests;

/// <summary>How the sample picks its Polar from configuration alone (no browser needed).</summary>
public sealed class SampleConfigurationTests
{
    [Fact]
    public async Task With_an_access_token_configured_the_sample_uses_that_Polar_and_offers_only_the_configured_products()
    {
        var ct = TestContext.Current.CancellationToken;
        // A separately running Polar stands in for Polar's sandbox.
        await using var polar = await PolarEmulator.StartAsync(cancellationToken: ct);
        var team = polar.Products.Single(p => p.Name == "Team");
        await using var app = await SampleServer.StartAsync(ct,
            "--KavachPolar:AccessToken=" + polar.AccessToken,
            "--KavachPolar:WebhookSecret=" + PolarWebhookSigner.CreateStandardSecret(),
            "--KavachPolar:ApiBaseUrl=" + polar.BaseUrl.AbsoluteUri,
            "--KavachPolar:Products:team=" + team.Id);
        using var http = new HttpClient { BaseAddress = app.BaseUrl };

        var pricing = await http.GetStringAsync(new Uri("pricing", UriKind.Relative), ct);

        Assert.Contains("data-testid=\"plan-team\"", pricing, StringComparison.Ordinal);
        Assert.Contains($"data-product-id=\"{team.Id}\"", pricing, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"plan-pro\"", pricing, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"catalog-problem\"", pricing, StringComparison.Ordinal);
        // No embedded emulator: no test-mode banner, and nobody registered a webhook endpoint with this Polar.
        Assert.DoesNotContain("data-testid=\"mode-banner\"", pricing, StringComparison.Ordinal);
        Assert.Empty(polar.WebhookEndpoints);

        // Within seconds of the start, the self-check says in one line that Polar has no endpoint for the sample.
        var line = await LineAsync(app, 1105);
        Assert.Contains("/api/kavach/auth/polar/webhook", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_access_token_the_sample_runs_its_own_Polar_whose_signed_webhooks_the_sample_accepts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = app.BaseUrl };

        var pricing = await http.GetStringAsync(new Uri("pricing", UriKind.Relative), ct);

        Assert.Contains("data-testid=\"mode-banner\"", pricing, StringComparison.Ordinal);
        foreach (var plan in new[] { "pro", "team", "pro-yearly", "pro-trial" })
        {
            Assert.Contains($"data-testid=\"plan-{plan}\"", pricing, StringComparison.Ordinal);
        }

        var embedded = app.Services.GetRequiredService<EmbeddedPolar>();
        var endpoint = Assert.Single(embedded.Emulator.WebhookEndpoints);
        Assert.Equal(new Uri(app.BaseUrl, "api/kavach/auth/polar/webhook"), endpoint.Url);
        Assert.Equal(app.Services.GetRequiredService<IOptions<KavachPolarOptions>>().Value.WebhookSecret, endpoint.Secret);

        // A Polar event reaches the sample and passes its signature check.
        embedded.Emulator.CreateCustomer("grace@kavachpolar.dev", "Grace Hopper", "usr_grace");
        await embedded.Emulator.WaitForDeliveriesAsync(ct);
        Assert.NotEmpty(embedded.Emulator.Deliveries);
        // Every event reached the app (a 503 at the database budget is retried, as Polar does).
        await Wait.UntilAsync(
            () => Task.FromResult(embedded.Emulator.Deliveries.GroupBy(d => d.EventId).All(e => e.Any(d => d.Succeeded))),
            because: "every event reached the app",
            timeout: TimeSpan.FromSeconds(60),
            explain: () => string.Join("; ", embedded.Emulator.Deliveries.GroupBy(d => d.EventId).Where(e => !e.Any(d => d.Succeeded)).Select(e => $"{e.First().EventType} got " + string.Join(", ", e.Select(d => d.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Error)))));

        // An unsigned request to the same route is refused.
        using var unsigned = await http.PostAsync(new Uri("api/kavach/auth/polar/webhook", UriKind.Relative), new StringContent("{}"), ct);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, unsigned.StatusCode);

        // The embedded Polar is set up right: the self-check passes and finds nothing to fix.
        await LineAsync(app, 1100);
        Assert.DoesNotContain(app.Logs.Records, r => r.EventId is >= 1101 and <= 1111);
    }

    private static async Task<string> LineAsync(SampleServer app, int eventId)
    {
        string? line = null;
        await Wait.UntilAsync(
            () => Task.FromResult((line = app.Logs.Records.FirstOrDefault(r => r.EventId == eventId).Line) is not null),
            because: $"the sample logs event {eventId}",
            explain: () => "what it logged:\n" + string.Join('\n', app.Logs.Records.Select(r => r.Line)));
        return line!;
    }
}
