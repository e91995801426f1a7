using System.Globalization;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Benefits;

/// <summary>
/// When Polar grants, revokes, re-grants and cycles benefits, and what each <c>benefit_grant.*</c> webhook carries
/// (https://github.com/polarsource/polar/blob/main/server/polar/benefit/grant/service.py, <c>subscription/service.py</c>
/// <c>enqueue_benefits_grants</c>, <c>benefit/strategies/*</c>; REFERENCE.md §9.2–§9.5), one rule per test.
/// </summary>
public sealed class BenefitGrantTests
{
    private const string Downloads = "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01";
    private const string BetaFeatures = "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a02";
    private const string LicenseKey = "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03";
    private const string PrioritySupport = "a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a04";
    private const string Discord = "a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a05";
    private const string GitHub = "a1b2c3d4-0006-4e5f-8a9b-0c1d2e3f4a06";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonNode Data(ReceivedWebhook webhook) => JsonNode.Parse(webhook.Body)!["data"]!;

    private static string Str(JsonNode? node) => node!.GetValue<string>();

    /// <summary>The <c>benefit_grant.*</c> webhooks received from the <paramref name="skip"/>-th request on, as (type, data).</summary>
    private static List<(string Type, JsonNode Data)> Grants(Harness h, int skip = 0) =>
        h.Receiver.Received.Skip(skip).Where(r => r.Type.StartsWith("benefit_grant.", StringComparison.Ordinal)).Select(r => (r.Type, Data(r))).ToList();

    private static async Task SettleAsync(Harness h) => await h.Emulator.WaitForDeliveriesAsync(Ct);

    [Fact]
    public async Task Paying_grants_each_benefit_of_the_product_after_the_checkout_succeeds_and_then_sends_the_state()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.SubscribeAsync();

        var types = h.ReceivedTypes();
        var succeeded = types.LastIndexOf("checkout.updated");
        Assert.Equal(["benefit_grant.created", "benefit_grant.created", "benefit_grant.created", "customer.state_changed"], types.Skip(succeeded + 1));
        var grants = Grants(h);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], grants.Select(g => Str(g.Data["benefit_id"])));
        Assert.All(grants, g =>
        {
            Assert.True(g.Data["is_granted"]!.GetValue<bool>());
            Assert.False(g.Data["is_revoked"]!.GetValue<bool>());
            Assert.Null(g.Data["modified_at"]);
            Assert.Null(g.Data["error"]);
            Assert.Null(g.Data["order_id"]);
            Assert.Null(g.Data["member_id"]);
            Assert.Equal(result.SubscriptionId, Str(g.Data["subscription_id"]));
            Assert.Equal(result.CustomerId, Str(g.Data["customer_id"]));
            Assert.Equal(result.CustomerId, Str(g.Data["user_id"]));
            Assert.Equal(Str(g.Data["benefit_id"]), Str(g.Data["benefit"]!["id"]));
            Assert.Equal("{}", g.Data["previous_properties"]!.ToJsonString());
        });
        var state = Data(h.Receiver.Received[^1]);
        Assert.Equal(grants.Select(g => Str(g.Data["id"])), state["granted_benefits"]!.AsArray().Select(g => Str(g!["id"])));
        Assert.Equal(["downloadables", "feature_flag", "license_keys"], state["granted_benefits"]!.AsArray().Select(g => Str(g!["benefit_type"])));
    }

    [Fact]
    public async Task A_license_key_grant_carries_a_generated_key_shown_masked_and_keeps_it_when_granted_again()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var granted = Grants(h).Single(g => Str(g.Data["benefit_id"]) == LicenseKey).Data;
        var keyId = Str(granted["properties"]!["license_key_id"]);
        var key = h.Emulator.GetLicenseKey(keyId)!;

        await h.Emulator.FailRenewalAsync(result.SubscriptionId, Ct);
        await h.Emulator.RecoverRenewalAsync(result.SubscriptionId, Ct);
        await SettleAsync(h);

        Assert.Matches("^KAVACH-[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[0-9A-F]{4}-[0-9A-F]{12}$", key);
        Assert.Equal("****-" + key[^6..], Str(granted["properties"]!["display_key"]));
        var regranted = Grants(h).Last(g => Str(g.Data["benefit_id"]) == LicenseKey);
        Assert.Equal("benefit_grant.created", regranted.Type);
        Assert.Equal(keyId, Str(regranted.Data["properties"]!["license_key_id"]));
        Assert.Equal(Str(granted["id"]), Str(regranted.Data["id"]));
    }

    [Fact]
    public async Task A_discord_or_github_grant_is_created_failed_with_action_required_and_not_listed_as_granted()
    {
        await using var h = await Harness.StartAsync();

        await h.SubscribeAsync(productId: h.Team.Id);

        var failed = Grants(h).Where(g => Str(g.Data["benefit_id"]) is Discord or GitHub).ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, g =>
        {
            Assert.Equal("benefit_grant.created", g.Type);
            Assert.False(g.Data["is_granted"]!.GetValue<bool>());
            Assert.False(g.Data["is_revoked"]!.GetValue<bool>());
            Assert.Null(g.Data["granted_at"]);
            Assert.Equal("BenefitActionRequiredError", Str(g.Data["error"]!["type"]));
            Assert.True(DateTimeOffset.TryParse(Str(g.Data["error"]!["timestamp"]), CultureInfo.InvariantCulture, out _));
        });
        Assert.Equal(["The customer needs to connect their Discord account", "The customer needs to connect their GitHub account"],
            failed.Select(g => Str(g.Data["error"]!["message"])));
        var state = Data(h.Receiver.Received[^1]);
        Assert.DoesNotContain(state["granted_benefits"]!.AsArray(), g => Str(g!["benefit_id"]) is Discord or GitHub);
        Assert.Equal(4, state["granted_benefits"]!.AsArray().Count);
    }

    [Fact]
    public async Task Linking_the_account_grants_a_failed_grant_with_benefit_grant_updated()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync(productId: h.Team.Id);
        var failed = Grants(h).Single(g => Str(g.Data["benefit_id"]) == Discord).Data;
        var seen = h.Receiver.Received.Count;

        await h.Emulator.LinkBenefitAccountAsync(Str(failed["id"]), "discord-user-42", Ct);
        await SettleAsync(h);

        Assert.Equal(["benefit_grant.updated", "customer.state_changed"], h.ReceivedTypes(seen));
        var updated = Data(h.Receiver.Received[seen]);
        Assert.Equal(Str(failed["id"]), Str(updated["id"]));
        Assert.True(updated["is_granted"]!.GetValue<bool>());
        Assert.Null(updated["error"]);
        Assert.NotNull(updated["modified_at"]);
        Assert.Equal("discord-user-42", Str(updated["properties"]!["granted_account_id"]));
        Assert.Equal("discord-user-42", Str(updated["previous_properties"]!["account_id"]));
        Assert.Contains(Data(h.Receiver.Received[^1])["granted_benefits"]!.AsArray(), g => Str(g!["benefit_id"]) == Discord);
    }

    [Fact]
    public async Task Linking_an_account_to_a_revoked_or_unknown_grant_is_refused_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync(productId: h.Team.Id);
        var support = Grants(h).Single(g => Str(g.Data["benefit_id"]) == PrioritySupport).Data;
        await h.Emulator.RevokeSubscriptionAsync(result.SubscriptionId, Ct);
        await SettleAsync(h);
        var seen = h.Receiver.Received.Count;

        var revoked = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.LinkBenefitAccountAsync(Str(support["id"]), "acc", Ct));
        var unknown = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.LinkBenefitAccountAsync(Guid.NewGuid().ToString(), "acc", Ct));
        await SettleAsync(h);

        Assert.Equal(403, revoked.StatusCode);
        Assert.Contains("NotPermitted", revoked.ErrorBody, StringComparison.Ordinal);
        Assert.Equal(404, unknown.StatusCode);
        Assert.Equal(seen, h.Receiver.Received.Count);
    }

    [Fact]
    public async Task Linking_an_account_to_a_benefit_that_needs_none_is_refused_and_changes_nothing()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync();
        var download = Grants(h).Single(g => Str(g.Data["benefit_id"]) == Downloads).Data;
        var seen = h.Receiver.Received.Count;

        var refused = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.LinkBenefitAccountAsync(Str(download["id"]), "acc", Ct));
        await SettleAsync(h);

        Assert.Equal(422, refused.StatusCode);
        Assert.Equal(seen, h.Receiver.Received.Count);
        Assert.True(h.Emulator.BenefitGrants.Single(g => g.Id == Str(download["id"])).IsGranted);
    }

    [Fact]
    public async Task Past_due_revokes_at_once_under_the_default_grace_and_recovery_grants_the_same_ids_again_with_created()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var first = Grants(h).Select(g => Str(g.Data["id"])).ToList();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.FailRenewalAsync(result.SubscriptionId, Ct);
        await SettleAsync(h);
        var revoked = Grants(h, seen);
        var afterFailure = h.Receiver.Received.Count;
        await h.Emulator.RecoverRenewalAsync(result.SubscriptionId, Ct);
        await SettleAsync(h);
        var regranted = Grants(h, afterFailure);

        Assert.Equal(first, revoked.Select(g => Str(g.Data["id"])));
        Assert.All(revoked, g =>
        {
            Assert.Equal("benefit_grant.revoked", g.Type);
            Assert.Null(g.Data["granted_at"]);
            Assert.NotNull(g.Data["revoked_at"]);
            Assert.NotNull(g.Data["modified_at"]);
        });
        Assert.Equal(first, regranted.Select(g => Str(g.Data["id"])));
        Assert.All(regranted, g =>
        {
            Assert.Equal("benefit_grant.created", g.Type);
            Assert.True(g.Data["is_granted"]!.GetValue<bool>());
            Assert.Null(g.Data["revoked_at"]);
            Assert.NotNull(g.Data["modified_at"]);
        });
    }

    [Fact]
    public async Task With_a_grace_period_past_due_keeps_the_benefits_until_the_first_dunning_retry_after_it()
    {
        await using var h = await Harness.StartAsync(o => o.BenefitRevocationGracePeriodDays = 3);
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.FailRenewalAsync(result.SubscriptionId, Ct);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(2.5), Ct);
        await SettleAsync(h);
        var afterFirstRetry = Grants(h, seen).Count;
        var pastDueAt = DateTimeOffset.Parse(Str(JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["past_due_at"]), CultureInfo.InvariantCulture);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(5), Ct);
        await SettleAsync(h);

        Assert.Equal(0, afterFirstRetry);
        var revoked = Grants(h, seen);
        Assert.Equal(3, revoked.Count);
        Assert.All(revoked, g => Assert.Equal("benefit_grant.revoked", g.Type));
        // The retries run 2 and 7 days after the failure; the grace ends after 3, so the second retry revokes.
        Assert.All(revoked, g => Assert.Equal(pastDueAt.AddDays(7), DateTimeOffset.Parse(Str(g.Data["revoked_at"]), CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task A_negative_grace_period_is_refused_at_start()
    {
        var options = new PolarEmulatorOptions { BenefitRevocationGracePeriodDays = -1 };

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PolarEmulator.StartAsync(options, Ct));
    }

    [Fact]
    public async Task Canceling_at_period_end_keeps_the_grants_until_the_period_ends()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.CancelSubscriptionAsync(result.SubscriptionId, cancellationToken: Ct);
        await SettleAsync(h);
        var afterCancel = Grants(h, seen).Count;
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        await SettleAsync(h);

        Assert.Equal(0, afterCancel);
        Assert.Equal(3, Grants(h, seen).Count(g => g.Type == "benefit_grant.revoked"));
        Assert.All(h.Emulator.BenefitGrants, g => Assert.True(g.IsRevoked));
    }

    [Fact]
    public async Task A_plan_change_grants_the_new_products_benefits_and_leaves_shared_ones_untouched()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Team.Id}\"}}");
        await SettleAsync(h);

        Assert.Equal(200, response.Status);
        var changes = Grants(h, seen);
        Assert.Equal([PrioritySupport, Discord, GitHub], changes.Select(g => Str(g.Data["benefit_id"])));
        Assert.All(changes, g => Assert.Equal("benefit_grant.created", g.Type));
    }

    [Fact]
    public async Task A_plan_change_revokes_only_granted_benefits_the_new_product_lacks()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync(productId: h.Team.Id);
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"product_id\":\"{h.Pro.Id}\"}}");
        await SettleAsync(h);

        Assert.Equal(200, response.Status);
        // The failed Discord and GitHub grants are not granted, so they are not among the outdated grants to revoke.
        var changes = Grants(h, seen);
        Assert.Equal([("benefit_grant.revoked", PrioritySupport)], changes.Select(g => (g.Type, Str(g.Data["benefit_id"]))));
        Assert.Equal(2, h.Emulator.BenefitGrants.Count(g => g.Error is not null && !g.IsRevoked));
    }

    [Fact]
    public async Task A_paid_renewal_cycles_every_granted_grant_and_no_failed_one()
    {
        await using var h = await Harness.StartAsync();
        await h.SubscribeAsync(productId: h.Team.Id);
        var granted = Grants(h).Where(g => g.Data["is_granted"]!.GetValue<bool>()).ToList();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(31), Ct);
        await SettleAsync(h);

        var cycled = Grants(h, seen);
        Assert.Equal(granted.Select(g => Str(g.Data["id"])), cycled.Select(g => Str(g.Data["id"])));
        Assert.All(cycled, g => Assert.Equal("benefit_grant.cycled", g.Type));
        Assert.All(cycled, g => Assert.NotNull(g.Data["modified_at"]));
        Assert.Equal(granted.Select(g => g.Data["properties"]!.ToJsonString()), cycled.Select(g => g.Data["properties"]!.ToJsonString()));
        Assert.Equal(granted.Select(g => g.Data["properties"]!.ToJsonString()), cycled.Select(g => g.Data["previous_properties"]!.ToJsonString()));
    }

    [Fact]
    public async Task Revoking_one_of_two_grants_of_a_benefit_sends_revoked_but_the_customer_still_holds_the_benefit()
    {
        await using var h = await Harness.StartAsync(o => o.AllowMultipleSubscriptions = true);
        var first = await h.SubscribeAsync();
        await h.SubscribeAsync(productId: h.Team.Id);
        var seen = h.Receiver.Received.Count;

        await h.Emulator.RevokeSubscriptionAsync(first.SubscriptionId, Ct);
        await SettleAsync(h);

        var revoked = Grants(h, seen);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], revoked.Select(g => Str(g.Data["benefit_id"])));
        Assert.All(revoked, g => Assert.Equal("benefit_grant.revoked", g.Type));
        // Not the last grant of Downloads: the files stay granted, so the properties are left as they were.
        var download = revoked.Single(g => Str(g.Data["benefit_id"]) == Downloads).Data;
        Assert.Equal(download["previous_properties"]!.ToJsonString(), download["properties"]!.ToJsonString());
        Assert.NotEmpty(download["properties"]!["files"]!.AsArray());
        var state = JsonNode.Parse(h.Emulator.GetCustomerStateJson(first.CustomerId))!;
        Assert.Contains(state["granted_benefits"]!.AsArray(), g => Str(g!["benefit_id"]) == Downloads);
    }

    [Fact]
    public async Task The_last_grant_of_a_downloadables_benefit_revoked_empties_its_properties()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.RevokeSubscriptionAsync(result.SubscriptionId, Ct);
        await SettleAsync(h);

        var download = Grants(h, seen).Single(g => Str(g.Data["benefit_id"]) == Downloads).Data;
        Assert.Equal("{}", download["properties"]!.ToJsonString());
        Assert.NotEmpty(download["previous_properties"]!["files"]!.AsArray());
    }

    [Fact]
    public async Task Customer_state_lists_a_benefit_once_per_granted_grant()
    {
        await using var h = await Harness.StartAsync(o => o.AllowMultipleSubscriptions = true);
        var first = await h.SubscribeAsync();
        await h.SubscribeAsync(productId: h.Team.Id);

        var state = JsonNode.Parse(h.Emulator.GetCustomerStateJson(first.CustomerId))!;

        var benefitIds = state["granted_benefits"]!.AsArray().Select(g => Str(g!["benefit_id"])).ToList();
        Assert.Equal(2, benefitIds.Count(id => id == Downloads));
        Assert.DoesNotContain(Discord, benefitIds);
        Assert.All(state["granted_benefits"]!.AsArray(), g => Assert.Null(g!["subscription_id"]));
    }

    [Fact]
    public async Task In_a_member_model_organization_every_grant_carries_the_customers_owner_member()
    {
        await using var h = await Harness.StartAsync(o => o.MemberModel = true);

        var result = await h.SubscribeAsync(fields: new JsonObject { ["external_customer_id"] = "usr_owner" });

        var types = h.ReceivedTypes();
        Assert.Equal(types.IndexOf("customer.created") - 1, types.IndexOf("member.created"));
        var member = Data(h.Receiver.Received[types.IndexOf("member.created")]);
        Assert.Equal("owner", Str(member["role"]));
        Assert.Equal("usr_owner", Str(member["external_id"]));
        Assert.Equal(result.CustomerId, Str(member["customer_id"]));
        Assert.All(Grants(h), g =>
        {
            Assert.Equal(Str(member["id"]), Str(g.Data["member_id"]));
            Assert.Equal(member.ToJsonString(), g.Data["member"]!.ToJsonString());
            Assert.Equal(result.CustomerId, Str(g.Data["customer_id"]));
        });
    }

    [Fact]
    public async Task Deleting_the_customer_revokes_every_grant_it_still_holds()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var response = await h.Http.DeleteAsync($"v1/customers/{result.CustomerId}");
        await SettleAsync(h);

        Assert.Equal(204, response.Status);
        Assert.All(h.Emulator.BenefitGrants, g => Assert.False(g.IsGranted));
        Assert.Equal(3, Grants(h).Count(g => g.Type == "benefit_grant.revoked"));
    }
}
