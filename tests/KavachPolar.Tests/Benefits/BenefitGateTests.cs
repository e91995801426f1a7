using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;

namespace KavachPolar.Tests.Benefits;

/// <summary>
/// <c>RequireBenefit</c>, <c>[RequireBenefit]</c>, <c>GET benefits</c> and <see cref="IKavachPolarEntitlements"/> on a
/// host written from the pinned names, against the emulator's grants: grant, failed grant, second grant, revoke of one of
/// two grants, past_due and recovery, and another instance.
/// </summary>
public sealed class BenefitGateTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    private string Team => Polar.Products[1].Id;

    protected override PolarEmulatorOptions EmulatorOptions()
    {
        var options = FastRetries();
        options.AllowMultipleSubscriptions = true;
        return options;
    }

    protected override Task<KavachTestApp> StartAppAsync() => StartGatedAppAsync(Db.ConnectionString);

    private Task<KavachTestApp> StartGatedAppAsync(string connectionString, bool createSchema = true) =>
        KavachTestApp.StartAsync(
            connectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?>
                {
                    ["KavachPolar:Benefits:downloads"] = Downloads,
                    ["KavachPolar:Benefits:discord"] = Discord,
                    ["KavachPolar:AllowMultipleSubscriptions"] = "true",
                },
                CreateSchema = createSchema,
                Pipeline = app =>
                {
                    app.MapGet("/downloads", () => "files").RequireBenefit("downloads");
                    app.MapGet("/support", () => "support").RequireBenefit(PrioritySupport);
                    app.MapGet("/community", () => "community").RequireBenefit("discord", "no-such-benefit");
                    app.MapGet("/attribute", [RequireBenefit("downloads")] () => "attribute");
                    app.MapGet("/typo", () => "typo").RequireBenefit("dowloads");
                },
            });

    [Fact]
    public async Task Anonymous_users_get_the_hosts_challenge_and_users_without_the_benefit_a_problem()
    {
        foreach (var path in new[] { "downloads", "attribute", "api/kavach/auth/polar/benefits" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await App.Client.GetAsync(path, Ct)).StatusCode);
        }

        using var client = App.ClientFor("nobody", "nobody.here@gmail.com");
        foreach (var path in new[] { "downloads", "attribute" })
        {
            await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync(path, Ct), HttpStatusCode.Forbidden, "benefit_required");
        }

        var body = await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", Ct);
        Assert.Empty(body!["benefits"]!.AsArray());
    }

    [Fact]
    public async Task A_second_grant_keeps_the_benefit_when_the_first_is_revoked_and_the_last_revoke_closes_the_gate()
    {
        using var client = App.ClientFor("two-grants", "two.grants@gmail.com");
        var pro = await SubscribeAsync(Polar, client, Pro, Ct);
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));
        Assert.Equal("attribute", await client.GetStringAsync("attribute", Ct));
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("support", Ct), HttpStatusCode.Forbidden, "benefit_required");

        var team = await SubscribeAsync(Polar, client, Team, Ct);
        Assert.Equal("support", await client.GetStringAsync("support", Ct));
        var downloads = await BenefitAsync(client, Downloads);
        Assert.Equal(2, downloads!["grants"]!.AsArray().Count);

        await Polar.RevokeSubscriptionAsync(pro.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        // One of two grants revoked: Polar sent benefit_grant.revoked, and the benefit is still held through the other.
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));
        downloads = await BenefitAsync(client, Downloads);
        Assert.Equal(team.SubscriptionId, (string?)Assert.Single(downloads!["grants"]!.AsArray())!["subscriptionId"]);
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var entitlements = scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>();
            Assert.True(await entitlements.HasBenefitAsync("two-grants", "downloads", Ct));
            Assert.True(await entitlements.HasBenefitAsync("two-grants", Downloads, Ct));
        }

        await Polar.RevokeSubscriptionAsync(team.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("downloads", Ct), HttpStatusCode.Forbidden, "benefit_required");
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", Ct))!["benefits"]!.AsArray());
    }

    [Fact]
    public async Task A_failed_grant_closes_the_gate_until_polar_grants_it()
    {
        using var client = App.ClientFor("linker", "linker.person@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Team, Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("community", Ct), HttpStatusCode.Forbidden, "benefit_required");
        Assert.Null(await BenefitAsync(client, Discord));

        var discord = Polar.BenefitGrants.Single(g => g.CustomerId == payment.CustomerId && g.BenefitId == Discord);
        await Polar.LinkBenefitAccountAsync(discord.Id, "238475629384756", Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal("community", await client.GetStringAsync("community", Ct));
        Assert.NotNull(await BenefitAsync(client, Discord));
    }

    [Fact]
    public async Task Past_due_closes_the_gate_at_once_and_recovery_opens_it_again()
    {
        using var client = App.ClientFor("past-due", "past.due@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));

        await Polar.FailRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("downloads", Ct), HttpStatusCode.Forbidden, "benefit_required");

        await Polar.RecoverRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal("files", await client.GetStringAsync("downloads", Ct));
    }

    [Fact]
    public async Task GET_benefits_lists_each_held_benefit_once_with_its_grants_in_the_pinned_shape()
    {
        using var client = App.ClientFor("shape", "shape.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);

        var body = await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", Ct);

        var benefits = body!["benefits"]!.AsArray();
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], benefits.Select(b => (string)b!["benefitId"]!).Order(StringComparer.Ordinal));
        var license = benefits.Single(b => (string?)b!["benefitId"] == LicenseKey)!.AsObject();
        Assert.Equal(["benefitId", "type", "description", "grantedAt", "grants"], license.Select(p => p.Key));
        Assert.Equal("license_keys", (string?)license["type"]);
        Assert.Equal("License key", (string?)license["description"]);
        var grant = Assert.Single(license["grants"]!.AsArray())!.AsObject();
        Assert.Equal(["grantId", "grantedAt", "subscriptionId", "orderId", "properties"], grant.Select(p => p.Key));
        var atPolar = Polar.BenefitGrants.Single(g => g.CustomerId == payment.CustomerId && g.BenefitId == LicenseKey);
        Assert.Equal(atPolar.Id, (string?)grant["grantId"]);
        Assert.Equal(payment.SubscriptionId, (string?)grant["subscriptionId"]);
        Assert.Null(grant["orderId"]);
        Assert.StartsWith("****", (string?)grant["properties"]!["display_key"]);
        Assert.Equal(license["grantedAt"]!.GetValue<DateTimeOffset>(), grant["grantedAt"]!.GetValue<DateTimeOffset>());

        await using var scope = App.Services.CreateAsyncScope();
        var fromApi = await scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>().GetBenefitsAsync("shape", Ct);
        var key = fromApi.Single(b => b.BenefitId == LicenseKey).Grants.Single().Properties;
        Assert.True(JsonElement.DeepEquals(key, JsonSerializer.SerializeToElement(grant["properties"])));
    }

    [Fact]
    public async Task A_revoke_closes_the_gate_on_another_instance()
    {
        await using var other = await StartGatedAppAsync(Db.ConnectionString, createSchema: false);
        using var client = App.ClientFor("two-instances", "two.instances@gmail.com");
        using var otherClient = other.ClientFor("two-instances", "two.instances@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        // Read on the other instance first, so that it has the user cached when the revoke lands on this one.
        Assert.Equal("files", await otherClient.GetStringAsync("downloads", Ct));
        Assert.Single((await otherClient.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", Ct))!["benefits"]!.AsArray(), b => (string?)b!["benefitId"] == Downloads);

        await Polar.RevokeSubscriptionAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        HttpResponseMessage? response = null;
        await Wait.UntilAsync(
            async () => (response = await otherClient.GetAsync("downloads", Ct)).StatusCode == HttpStatusCode.Forbidden,
            Wait.ForAnnouncement,
            "the other instance closes the gate once it hears of the revoke",
            describe: async () => $"{(int)response!.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}");
        Assert.Empty((await otherClient.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", Ct))!["benefits"]!.AsArray());
    }

    [Fact]
    public async Task A_name_that_is_neither_a_benefit_id_nor_a_slug_is_refused_by_the_api_and_closes_the_gate_with_one_warning()
    {
        using var client = App.ClientFor("typo-user", "typo.user@gmail.com");
        await SubscribeAsync(Polar, client, Pro, Ct);

        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("typo", Ct), HttpStatusCode.Forbidden, "benefit_required");
        await CheckoutEndpointTests.AssertProblemAsync(await client.GetAsync("typo", Ct), HttpStatusCode.Forbidden, "benefit_required");
        Assert.Equal(1, App.Logs.Collector.GetSnapshot().Count(r => r.Id.Id == 1203));

        await using var scope = App.Services.CreateAsyncScope();
        var entitlements = scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => entitlements.HasBenefitAsync("typo-user", "dowloads", Ct));
        Assert.Contains("KavachPolar:Benefits", refused.Message);
        Assert.Throws<ArgumentException>(() => new RouteGroupBuilderProbe().RequireBenefit());
        Assert.Throws<ArgumentException>(() => new RequireBenefitAttribute(" "));
    }

    [Fact]
    public async Task A_benefit_slug_that_is_not_a_uuid_fails_start_up_naming_the_key()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => KavachTestApp.StartAsync(
            Db.ConnectionString,
            Polar,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:Benefits:downloads"] = "not-a-uuid" },
                CreateSchema = false,
            }));
        Assert.Contains("KavachPolar:Benefits:downloads", failure.Message);
    }

    private static async Task<JsonNode?> BenefitAsync(HttpClient client, string benefitId) =>
        (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/benefits", TestContext.Current.CancellationToken))!["benefits"]!.AsArray()
            .SingleOrDefault(b => (string?)b!["benefitId"] == benefitId);

    /// <summary>An endpoint convention builder that records nothing, to call <c>RequireBenefit</c> on with bad input.</summary>
    private sealed class RouteGroupBuilderProbe : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
        }
    }
}
