using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Benefits;

/// <summary>
/// <c>GET /v1/benefit-grants/</c>, <c>GET /v1/benefits/</c>, <c>/v1/benefits/{id}</c> and <c>/v1/benefits/{id}/grants</c> with
/// Polar's filters (https://github.com/polarsource/polar/blob/main/server/polar/benefit/endpoints.py,
/// <c>benefit/grant/endpoints.py</c>, <c>grant/service.py</c>; REFERENCE.md §9.6).
/// </summary>
public sealed class BenefitListTests
{
    private const string Downloads = "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01";
    private const string BetaFeatures = "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a02";
    private const string Discord = "a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a05";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static List<string> Ids(PolarResponse response, string field = "id") =>
        response.Json["items"]!.AsArray().Select(i => i![field]!.GetValue<string>()).ToList();

    [Fact]
    public async Task The_grant_list_filters_by_customer_and_external_customer_id_newest_first()
    {
        await using var h = await Harness.StartAsync(o => o.AllowMultipleSubscriptions = true);
        var jane = await h.SubscribeAsync("jane@gmail.com", new JsonObject { ["external_customer_id"] = "usr_jane" });
        var sam = await h.SubscribeAsync("sam@gmail.com");

        var all = await h.Http.GetAsync("v1/benefit-grants/?limit=100");
        var byCustomer = await h.Http.GetAsync($"v1/benefit-grants/?customer_id={sam.CustomerId}");
        var byExternal = await h.Http.GetAsync("v1/benefit-grants/?external_customer_id=usr_jane");
        var oldestFirst = await h.Http.GetAsync("v1/benefit-grants/?limit=100&sorting=created_at");

        Assert.Equal(200, all.Status);
        Assert.Equal(6, all.Json["pagination"]!["total_count"]!.GetValue<int>());
        var samGrants = h.Emulator.BenefitGrants.Where(g => g.CustomerId == sam.CustomerId).Select(g => g.Id).ToList();
        var janeGrants = h.Emulator.BenefitGrants.Where(g => g.CustomerId == jane.CustomerId).Select(g => g.Id).ToList();
        Assert.Equal(samGrants.AsEnumerable().Reverse(), Ids(byCustomer));
        Assert.Equal(janeGrants.AsEnumerable().Reverse(), Ids(byExternal));
        Assert.Equal([.. janeGrants, .. samGrants], Ids(oldestFirst));
        Assert.Equal(Ids(oldestFirst).AsEnumerable().Reverse(), Ids(all));
    }

    [Fact]
    public async Task Is_granted_false_lists_revoked_and_failed_grants_together()
    {
        await using var h = await Harness.StartAsync(o => o.AllowMultipleSubscriptions = true);
        var pro = await h.SubscribeAsync();
        await h.SubscribeAsync(productId: h.Team.Id);
        await h.Emulator.RevokeSubscriptionAsync(pro.SubscriptionId, Ct);

        var notGranted = await h.Http.GetAsync("v1/benefit-grants/?is_granted=false&limit=100");
        var granted = await h.Http.GetAsync("v1/benefit-grants/?is_granted=true&limit=100");

        var items = notGranted.Json["items"]!.AsArray();
        Assert.Equal(5, items.Count);
        Assert.Equal(3, items.Count(i => i!["is_revoked"]!.GetValue<bool>()));
        Assert.Equal(2, items.Count(i => i!["error"] is not null));
        Assert.Equal(4, granted.Json["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_grant_list_filter_polar_refuses_is_a_422_naming_the_parameter()
    {
        await using var h = await Harness.StartAsync();

        var badBool = await h.Http.GetAsync("v1/benefit-grants/?is_granted=maybe");
        var badSort = await h.Http.GetAsync("v1/benefit-grants/?sorting=benefit");
        var badCustomer = await h.Http.GetAsync("v1/benefit-grants/?customer_id=nope");

        Assert.Equal([422, 422, 422], [badBool.Status, badSort.Status, badCustomer.Status]);
        Assert.Equal("""["query","is_granted"]""", badBool.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal("""["query","sorting",0]""", badSort.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal("""["query","customer_id",0]""", badCustomer.Json["detail"]![0]!["loc"]!.ToJsonString());
    }

    [Fact]
    public async Task Reading_benefits_needs_a_benefits_scope()
    {
        await using var h = await Harness.StartAsync();
        using var readOnly = new PolarHttp(h.Emulator, token: h.Emulator.CreateAccessToken(["benefits:read"]));
        using var writer = new PolarHttp(h.Emulator, token: h.Emulator.CreateAccessToken(["benefits:write"]));
        using var other = new PolarHttp(h.Emulator, token: h.Emulator.CreateAccessToken(["subscriptions:read"]));

        var read = await readOnly.GetAsync("v1/benefit-grants/");
        var write = await writer.GetAsync("v1/benefits/");
        var refused = await other.GetAsync("v1/benefit-grants/");

        Assert.Equal([200, 200, 403], [read.Status, write.Status, refused.Status]);
        Assert.Equal("insufficient_scope", refused["error"]);
    }

    [Fact]
    public async Task The_benefit_list_filters_by_type_and_description_and_a_benefit_reads_by_id()
    {
        await using var h = await Harness.StartAsync();

        var all = await h.Http.GetAsync("v1/benefits/?limit=100");
        var flags = await h.Http.GetAsync("v1/benefits/?type=feature_flag");
        var search = await h.Http.GetAsync("v1/benefits/?query=download");
        var one = await h.Http.GetAsync($"v1/benefits/{Discord}");
        var missing = await h.Http.GetAsync($"v1/benefits/{Guid.NewGuid()}");
        var badType = await h.Http.GetAsync("v1/benefits/?type=coupon");

        Assert.Equal(6, Ids(all).Count);
        Assert.Equal([BetaFeatures], Ids(flags));
        Assert.Equal("private", flags.Json["items"]![0]!["visibility"]!.GetValue<string>());
        Assert.Equal([Downloads], Ids(search));
        Assert.Equal("discord", one["type"]);
        Assert.Equal(404, missing.Status);
        Assert.Equal(422, badType.Status);
    }

    [Fact]
    public async Task A_benefits_grants_filter_by_member_and_customer_and_an_unknown_benefit_is_404()
    {
        await using var h = await Harness.StartAsync(o => o.MemberModel = true);
        var jane = await h.SubscribeAsync("jane@gmail.com");
        await h.SubscribeAsync("sam@gmail.com");
        var janeMember = h.Emulator.BenefitGrants.First(g => g.CustomerId == jane.CustomerId).MemberId!;

        var all = await h.Http.GetAsync($"v1/benefits/{Downloads}/grants");
        var byMember = await h.Http.GetAsync($"v1/benefits/{Downloads}/grants?member_id={janeMember}");
        var byCustomer = await h.Http.GetAsync($"v1/benefits/{Downloads}/grants?customer_id={jane.CustomerId}");
        var missing = await h.Http.GetAsync($"v1/benefits/{Guid.NewGuid()}/grants");

        Assert.Equal(2, Ids(all).Count);
        Assert.All(all.Json["items"]!.AsArray(), i => Assert.Equal(Downloads, i!["benefit_id"]!.GetValue<string>()));
        Assert.Equal([jane.CustomerId], Ids(byMember, "customer_id"));
        Assert.Equal([jane.CustomerId], Ids(byCustomer, "customer_id"));
        Assert.Equal(404, missing.Status);
        Assert.Equal("ResourceNotFound", missing["error"]);
    }

    [Fact]
    public async Task A_checkouts_product_shows_only_public_benefits_and_the_product_all_of_them()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync();
        var product = await h.Http.GetAsync($"v1/products/{h.Pro.Id}");

        var shown = checkout["product"]!["benefits"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain(BetaFeatures, shown);
        Assert.Equal(2, shown.Count);
        Assert.Equal(h.Pro.BenefitIds, product.Json["benefits"]!.AsArray().Select(b => b!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_control_route_links_an_account_as_the_portal_does()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync(productId: h.Team.Id);
        var grant = h.Emulator.BenefitGrants.Single(g => g.BenefitId == Discord);
        using var control = new HttpClient { BaseAddress = h.Emulator.BaseUrl };

        using var linked = await control.PostAsync($"_emulator/benefit-grants/{grant.Id}/link", new StringContent("{\"account_id\":\"d-1\"}"), Ct);
        using var missing = await control.PostAsync($"_emulator/benefit-grants/{grant.Id}/link", new StringContent("{}"), Ct);

        Assert.Equal(200, (int)linked.StatusCode);
        Assert.Equal(400, (int)missing.StatusCode);
        Assert.True(h.Emulator.BenefitGrants.Single(g => g.Id == grant.Id).IsGranted);
    }
}
