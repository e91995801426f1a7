using KavachPolar.Endpoints;
using KavachPolar.Polar;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace KavachPolar.Tests.Options;

public sealed class OptionsTests
{
    private static IHost Build(IDictionary<string, string?> settings, Action<KavachPolarOptions>? configure = null, bool twice = false)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddKavachPolar(configure);
        if (twice)
        {
            builder.Services.AddKavachPolar();
        }

        return builder.Build();
    }

    private static Dictionary<string, string?> Valid() => new()
    {
        ["KavachPolar:AccessToken"] = "polar_oat_x",
        ["KavachPolar:WebhookSecret"] = "whsec_x",
    };

    [Theory]
    [InlineData("KavachPolar:AccessToken")]
    [InlineData("KavachPolar:WebhookSecret")]
    public async Task A_missing_required_setting_stops_start_up_naming_the_key(string key)
    {
        var settings = Valid();
        settings.Remove(key);
        using var host = Build(settings);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KavachPolar:ApiBaseUrl", "ftp://polar.example")]
    [InlineData("KavachPolar:WebhookTolerance", "00:00:00")]
    [InlineData("KavachPolar:MaxWebhookBodyBytes", "10")]
    [InlineData("KavachPolar:CheckoutRateLimit", "0")]
    [InlineData("KavachPolar:ReconcileRateLimit", "0")]
    [InlineData("KavachPolar:PolarRequestsPerMinute", "0")]
    [InlineData("KavachPolar:DatabaseTimeout", "00:00:00")]
    [InlineData("KavachPolar:WebhookProcessingTimeout", "00:00:30")]
    [InlineData("KavachPolar:Products:pro", "not-a-uuid")]
    [InlineData("KavachPolar:AllowedRedirectOrigins:0", "https://app.example.org/path")]
    [InlineData("KavachPolar:TrustedOrigins:0", "https://admin.example.org/path")]
    [InlineData("KavachPolar:TrustedOrigins:0", "admin.example.org")]
    [InlineData("KavachPolar:SuccessUrl", "javascript:alert(1)")]
    [InlineData("KavachPolar:PublicOrigin", "https://app.example.org/app")]
    [InlineData("KavachPolar:PublicOrigin", "app.example.org")]
    [InlineData("KavachPolar:UserIdClaimType", " ")]
    [InlineData("KavachPolar:NotificationConnectionString", "postgres at db.example.org")]
    [InlineData("KavachPolar:NotificationConnectionString", "Host=db.example.org;Colour=blue")]
    [InlineData("KavachPolar:NotificationConnectionString", " ")]
    [InlineData("KavachPolar:Health:WebhookSilence", "00:00:00")]
    [InlineData("KavachPolar:Health:WebhookSilence", "100.00:00:00")]
    public async Task An_invalid_setting_stops_start_up_naming_the_key(string key, string value)
    {
        var settings = Valid();
        settings[key] = value;
        using var host = Build(settings);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        var expectedKey = key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key;
        Assert.Contains(expectedKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_notification_connection_string_is_refused_without_repeating_its_password()
    {
        var settings = Valid();
        settings["KavachPolar:NotificationConnectionString"] = "Host=db.example.org;Password=s3cret-pw-0123;Port=five";
        using var host = Build(settings);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("KavachPolar:NotificationConnectionString", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw-0123", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_is_bound_then_the_delegate_runs()
    {
        var settings = Valid();
        settings["KavachPolar:Sandbox"] = "true";
        settings["KavachPolar:OrganizationId"] = "from-config";
        settings["KavachPolar:WebhookSecrets:0"] = "whsec_old";
        settings["KavachPolar:Products:pro"] = "d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23";
        settings["KavachPolar:AllowedRedirectOrigins:0"] = "https://app.example.org";
        settings["KavachPolar:WebhookTolerance"] = "00:02:00";
        using var host = Build(settings, o => o.OrganizationId = "from-delegate");

        var o = host.Services.GetRequiredService<IOptions<KavachPolarOptions>>().Value;
        Assert.True(o.Sandbox);
        Assert.Equal("from-delegate", o.OrganizationId);
        Assert.Equal(["whsec_old"], o.WebhookSecrets);
        Assert.Equal("d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23", o.Products["pro"]);
        Assert.Equal(["https://app.example.org"], o.AllowedRedirectOrigins);
        Assert.Equal(TimeSpan.FromMinutes(2), o.WebhookTolerance);
        Assert.Equal(new Uri("https://sandbox-api.polar.sh/"), PolarApiClient.ResolveBaseAddress(o));
    }

    [Fact]
    public void The_api_host_is_production_by_default_and_api_base_url_overrides_both()
    {
        Assert.Equal(new Uri("https://api.polar.sh/"), PolarApiClient.ResolveBaseAddress(new KavachPolarOptions()));
        Assert.Equal(new Uri("http://127.0.0.1:5555/"), PolarApiClient.ResolveBaseAddress(new KavachPolarOptions { Sandbox = true, ApiBaseUrl = new Uri("http://127.0.0.1:5555") }));
    }

    [Fact]
    public async Task A_host_that_does_not_map_the_routes_is_not_warned_about_public_origin()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(Valid());
        builder.Logging.ClearProviders().AddFakeLogging();
        builder.Services.AddKavachPolar();
        using var host = builder.Build();
        var warning = host.Services.GetRequiredService<PublicOriginWarning>();
        var logs = host.Services.GetFakeLogCollector();

        // A job that only uses the services builds no success URL and checks no origin.
        await warning.StartAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == 4008);

        warning.RoutesMapped = true; // what MapKavachPolar sets
        await warning.StartAsync(TestContext.Current.CancellationToken);
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Id == 4008);
    }

    [Fact]
    public void Calling_AddKavachPolar_twice_registers_services_once()
    {
        using var host = Build(Valid(), twice: true);
        var hosted = host.Services.GetServices<IHostedService>().Select(h => h.GetType()).ToList();
        Assert.Equal(hosted.Distinct().Count(), hosted.Count);
        Assert.Equal(10, hosted.Count); // the callback dispatcher, the declaration of the kinds it handles, the webhook-event retention, the cache listener, the change announcer, the PublicOrigin warning, the webhook silence monitor, the Polar self-check, the customer-state refresher and the usage sender
        var options = host.Services.GetRequiredService<IOptions<KavachPolarOptions>>().Value;
        Assert.Equal("polar_oat_x", options.AccessToken);
    }
}
