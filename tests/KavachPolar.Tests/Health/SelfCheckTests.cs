using System.Diagnostics.Metrics;
using System.Net;
using KavachPolar.Health;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Health;

/// <summary>
/// The start-up self-check against the emulator, as Polar answers: each misconfiguration a newcomer meets (a token Polar
/// refuses, another organization, a missing scope, no endpoint, a disabled one, missing events, a wrong secret) is one
/// log line with its own event id and the fix, within seconds of the start; a right set-up logs one line that says so.
/// </summary>
public sealed class SelfCheckTests : DatabaseTest
{
    private const string WebhookPath = "/api/kavach/auth/polar/webhook";
    private static readonly Uri TunnelUrl = new("https://calm-river-1234.trycloudflare.com" + WebhookPath);

    private PolarEmulator Polar { get; set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        Polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await Polar.DisposeAsync();
        await base.DisposeAsyncCore();
    }

    [Fact]
    public async Task A_right_set_up_logs_one_line_that_says_so_and_no_finding()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1100);

        Assert.Contains("passed", line, StringComparison.Ordinal);
        Assert.Contains(TunnelUrl.AbsoluteUri, line, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Logs.Lines, l => FindingIds.Any(id => l.Contains($"[{id}]", StringComparison.Ordinal)));
        Assert.DoesNotContain(KavachTestApp.DefaultSecret, app.Logs.AllText, StringComparison.Ordinal);
        // GETs only: Polar is never changed by the check.
        Assert.All(Polar.ApiRequests, r => Assert.Equal("GET", r.Method));
    }

    [Fact]
    public async Task A_token_polar_refuses_is_one_error_that_names_the_setting_to_check_and_never_the_token()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        await using var app = await StartAsync(new() { ["KavachPolar:AccessToken"] = "polar_oat_from_the_other_environment_0123" });

        var line = await LineAsync(app, 1101);

        Assert.StartsWith("Error", line, StringComparison.Ordinal);
        Assert.Contains("KavachPolar:ApiBaseUrl", line, StringComparison.Ordinal);
        Assert.DoesNotContain("polar_oat_from_the_other_environment_0123", app.Logs.AllText, StringComparison.Ordinal);
        // Nothing else can work with that token: the check stops at the first refusal.
        Assert.Single(Polar.ApiRequests);
    }

    [Theory]
    [InlineData(true, "it is true (sandbox-api.polar.sh), and a token from polar.sh (production) only works with Sandbox false")]
    [InlineData(false, "it is false (api.polar.sh), and a token from sandbox.polar.sh only works with Sandbox true")]
    public void Against_polar_the_fix_for_a_refused_token_names_the_sandbox_setting_as_it_is(bool sandbox, string expected)
    {
        var fix = PolarSelfCheck.TokenFix(new KavachPolarOptions { AccessToken = "polar_oat_x", Sandbox = sandbox });

        Assert.Contains("Check KavachPolar:Sandbox", fix, StringComparison.Ordinal);
        Assert.Contains(expected, fix, StringComparison.Ordinal);
    }

    [Fact]
    public void A_webhook_secret_pasted_as_the_token_is_named()
    {
        var fix = PolarSelfCheck.TokenFix(new KavachPolarOptions { AccessToken = "whsec_abc" });

        Assert.StartsWith("KavachPolar:AccessToken holds a webhook secret", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_organization_id_the_token_does_not_belong_to_is_one_error()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        await using var app = await StartAsync(new() { ["KavachPolar:OrganizationId"] = "0e6c8c52-2b0f-4f1e-9d55-6f4e3a0b7c21" });

        var line = await LineAsync(app, 1102);

        Assert.Contains("0e6c8c52-2b0f-4f1e-9d55-6f4e3a0b7c21", line, StringComparison.Ordinal);
        // The webhook listing named the token's organization.
        Assert.Contains($"belongs to organization {Polar.OrganizationId}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_without_a_read_scope_kavachpolar_needs_gets_one_error_per_scope()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        var token = Polar.CreateAccessToken(["subscriptions:write", "checkouts:write", "customer_sessions:write", "webhooks:read"]);
        await using var app = await StartAsync(new() { ["KavachPolar:AccessToken"] = token });

        var line = await LineAsync(app, 1103);

        Assert.Contains("customers:read", line, StringComparison.Ordinal);
        Assert.Single(app.Logs.Lines, l => l.Contains("[1103]", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("[1100]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_without_webhooks_read_is_a_note_not_an_error()
    {
        var token = Polar.CreateAccessToken(["subscriptions:write", "customers:write", "checkouts:write", "customer_sessions:write"]);
        await using var app = await StartAsync(new() { ["KavachPolar:AccessToken"] = token });

        var pass = await LineAsync(app, 1100);

        Assert.StartsWith("Information", app.Logs.Lines.Single(l => l.Contains("[1104]", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("not checked", pass, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_endpoint_for_this_apps_webhook_path_is_one_error_listing_polars_endpoints()
    {
        Polar.AddWebhookEndpoint(new Uri("https://calm-river-1234.trycloudflare.com/api/webhooks/polar"), KavachTestApp.DefaultSecret);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1105);

        Assert.StartsWith("Error", line, StringComparison.Ordinal);
        Assert.Contains(WebhookPath, line, StringComparison.Ordinal);
        Assert.Contains("https://calm-river-1234.trycloudflare.com/api/webhooks/polar", line, StringComparison.Ordinal);
        Assert.Contains("subscription.revoked", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_polar_disabled_is_one_error_with_the_runbook()
    {
        var endpoint = Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        Polar.EnableWebhookEndpoint(endpoint.Id, enabled: false);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1106);

        Assert.Contains(endpoint.Id, line, StringComparison.Ordinal);
        Assert.Contains("re-enable the endpoint", line, StringComparison.Ordinal);
        Assert.Contains("ReconcileAllAsync", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_without_some_subscription_events_is_a_warning_naming_them()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret, events: ["subscription.created", "subscription.updated", "checkout.updated"]);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1107);

        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        Assert.Contains("subscription.revoked", line, StringComparison.Ordinal);
        Assert.DoesNotContain("subscription.updated,", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_that_sends_subscriptions_but_not_benefit_grants_is_a_warning_naming_them()
    {
        var subscriptionEvents = new[]
        {
            "subscription.created", "subscription.updated", "subscription.active", "subscription.canceled", "subscription.uncanceled",
            "subscription.cycled", "subscription.revoked", "subscription.past_due", "subscription.paused", "subscription.resumed",
        };
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret, events: subscriptionEvents);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1107);

        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        Assert.Contains("benefit_grant.created, benefit_grant.updated, benefit_grant.cycled, benefit_grant.revoked", line, StringComparison.Ordinal);
        Assert.DoesNotContain("subscription.", line.Split(" does not send ", 2)[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_that_sends_subscriptions_and_grants_but_not_orders_is_a_warning_naming_the_order_events_that_carry_state()
    {
        var events = new[]
        {
            "subscription.created", "subscription.updated", "subscription.active", "subscription.canceled", "subscription.uncanceled",
            "subscription.cycled", "subscription.revoked", "subscription.past_due", "subscription.paused", "subscription.resumed",
            "benefit_grant.created", "benefit_grant.updated", "benefit_grant.cycled", "benefit_grant.revoked",
            // The usual choice of a one-time seller: order.paid alone misses refunds, which come as order.updated.
            "order.paid",
        };
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret, events: events);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1107);

        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        var missing = line.Split(" does not send ", 2)[^1];
        Assert.Contains("order.created, order.updated", missing, StringComparison.Ordinal);
        Assert.DoesNotContain("order.paid", missing, StringComparison.Ordinal);
        Assert.DoesNotContain("order.refunded", missing, StringComparison.Ordinal);
        Assert.DoesNotContain("refund.", missing, StringComparison.Ordinal);
        Assert.DoesNotContain("subscription.", missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_signing_with_another_secret_is_one_error_that_never_shows_either_secret()
    {
        var endpoint = Polar.AddWebhookEndpoint(TunnelUrl);
        await using var app = await StartAsync();

        var line = await LineAsync(app, 1108);

        Assert.Contains("KavachPolar:WebhookSecret", line, StringComparison.Ordinal);
        Assert.DoesNotContain(endpoint.Secret, app.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(KavachTestApp.DefaultSecret, app.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_previous_secret_kept_for_a_rotation_counts_as_configured()
    {
        var endpoint = Polar.AddWebhookEndpoint(TunnelUrl);
        await using var app = await StartAsync(new() { ["KavachPolar:WebhookSecrets:0"] = endpoint.Secret });

        await LineAsync(app, 1100);

        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("[1108]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_polar_that_cannot_be_reached_leaves_the_check_incomplete()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:SelfCheck:Enabled"] = "true" } });

        var line = await LineAsync(app, 1110);

        Assert.Contains("GET /v1/subscriptions/", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_fail_startup_an_error_stops_the_start_with_the_findings()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(new()
        {
            ["KavachPolar:SelfCheck:FailStartup"] = "true",
        }));

        Assert.Contains("[1105]", e.Message, StringComparison.Ordinal);
        Assert.Contains("KavachPolar:SelfCheck:FailStartup", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_fail_startup_a_right_set_up_starts()
    {
        Polar.AddWebhookEndpoint(TunnelUrl, KavachTestApp.DefaultSecret);
        await using var app = await StartAsync(new() { ["KavachPolar:SelfCheck:FailStartup"] = "true" });

        Assert.Contains(app.Logs.Lines, l => l.Contains("[1100]", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Client.GetAsync("api/kavach/auth/polar/subscription", Ct)).StatusCode);
    }

    [Fact]
    public async Task A_write_polar_refuses_for_a_missing_scope_names_the_scope_to_add()
    {
        var token = Polar.CreateAccessToken(["customers:write", "subscriptions:write"]);
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = token } });
        using var client = app.ClientFor("user-scope", "ada.lovelace@gmail.com");

        var response = await client.PostAsync("api/kavach/auth/polar/checkout", new StringContent($$"""{"productId":"{{Polar.Products[0].Id}}"}""", System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var line = app.Logs.Lines.Single(l => l.Contains("[1111]", StringComparison.Ordinal));
        Assert.Contains("checkouts:write", line, StringComparison.Ordinal);
        Assert.Contains("POST", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gauge_tells_how_long_ago_the_last_verified_delivery_arrived()
    {
        await using var app = await StartAsync(new() { ["KavachPolar:SelfCheck:Enabled"] = "false" });
        using var gauge = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), "KavachPolar", "kavach_polar.webhooks.since_last_verified");
        gauge.RecordObservableInstruments();
        Assert.Empty(gauge.GetMeasurementSnapshot());

        await app.DeliverAsync(Compact(Subscription("subscription.created", "b0c5f1de-8a53-4c5e-a3f4-6f1b2a9e0c32")), ct: Ct);
        gauge.RecordObservableInstruments();

        var seconds = Assert.Single(gauge.GetMeasurementSnapshot()).Value;
        Assert.InRange(seconds, 0, 60);
    }

    [Fact]
    public async Task A_silence_longer_than_the_setting_while_subscriptions_are_live_is_warned()
    {
        await using var app = await StartAsync(new() { ["KavachPolar:SelfCheck:Enabled"] = "false", ["KavachPolar:Health:WebhookSilence"] = "00:00:02" });
        await app.DeliverAsync(Compact(Subscription("subscription.created", "b0c5f1de-8a53-4c5e-a3f4-6f1b2a9e0c33")), ct: Ct);

        var line = await LineAsync(app, 3009);

        Assert.Contains("1 subscriptions are live", line, StringComparison.Ordinal);
        Assert.Contains("ReconcileAllAsync", line, StringComparison.Ordinal);
    }

    private static readonly int[] FindingIds = [1101, 1102, 1103, 1104, 1105, 1106, 1107, 1108, 1109, 1110];

    private Task<KavachTestApp> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["KavachPolar:SelfCheck:Enabled"] = "true" };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }

        return KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Settings = all });
    }

    private static async Task<string> LineAsync(KavachTestApp app, int eventId)
    {
        string? line = null;
        await Wait.UntilAsync(
            () => Task.FromResult((line = app.Logs.Lines.FirstOrDefault(l => l.Contains($"[{eventId}]", StringComparison.Ordinal))) is not null),
            because: $"log event {eventId} is written",
            describe: () => Task.FromResult(app.Logs.AllText));
        return line!;
    }
}
