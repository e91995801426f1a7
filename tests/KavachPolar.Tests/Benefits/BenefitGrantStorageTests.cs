using System.Net;
using System.Text;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;

namespace KavachPolar.Tests.Benefits;

/// <summary>
/// Grants stored from Polar's <c>benefit_grant.*</c> webhooks (the emulator sends them through the subscription
/// lifecycle as Polar's grant service does), on real PostgreSQL with the webhook function installed.
/// </summary>
public sealed class BenefitGrantStorageTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    private string Team => Polar.Products[1].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    [Fact]
    public async Task Grants_of_a_subscription_are_stored_for_its_user_as_polar_holds_them()
    {
        using var client = App.ClientFor("grant-user", "grant.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);

        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "grant-user", Ct));
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "grant-user", Ct));
        Assert.Equal(3L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_benefit_grants WHERE subscription_id = '{payment.SubscriptionId}' AND user_id = 'grant-user'", Ct));
        var displayKey = await Db.ScalarAsync<string>($"SELECT properties::json->>'display_key' FROM kavach_polar_benefit_grants WHERE benefit_id = '{LicenseKey}'", Ct);
        Assert.StartsWith("****", displayKey);
        Assert.Equal("license_keys", await Db.ScalarAsync<string>($"SELECT benefit_type FROM kavach_polar_benefit_grants WHERE benefit_id = '{LicenseKey}'", Ct));
        var outcomes = await Db.QueryColumnAsync<string>("SELECT DISTINCT outcome FROM kavach_polar_webhook_events WHERE event_type LIKE 'benefit_grant.%'", Ct);
        Assert.Equal(["applied"], outcomes);
        // No host of this app handles benefit changes: none is queued.
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE change LIKE '{\"kind\":\"benefit\"%'", Ct));
    }

    [Fact]
    public async Task A_failed_grant_is_stored_with_its_error_and_counts_once_polar_grants_it()
    {
        using var client = App.ClientFor("discord-user", "discord.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Team, Ct);

        var discord = Polar.BenefitGrants.Single(g => g.CustomerId == payment.CustomerId && g.BenefitId == Discord);
        Assert.False(discord.IsGranted);
        Assert.Equal("BenefitActionRequiredError", await Db.ScalarAsync<string>($"SELECT error_type FROM kavach_polar_benefit_grants WHERE id = '{discord.Id}'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_benefit_grants WHERE id = '{discord.Id}' AND granted_at IS NOT NULL", Ct));
        Assert.DoesNotContain(Discord, await HeldInTableAsync(Db, "discord-user", Ct));
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "discord-user", Ct));

        await Polar.LinkBenefitAccountAsync(discord.Id, "238475629384756", Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Contains(Discord, await HeldInTableAsync(Db, "discord-user", Ct));
        Assert.Null(await Db.ScalarAsync<string>($"SELECT error_type FROM kavach_polar_benefit_grants WHERE id = '{discord.Id}'", Ct));
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "discord-user", Ct));
    }

    [Fact]
    public async Task Revoking_the_subscription_revokes_its_grants()
    {
        using var client = App.ClientFor("revoked-user", "revoked.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);

        await Polar.RevokeSubscriptionAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Empty(await HeldInTableAsync(Db, "revoked-user", Ct));
        Assert.Equal(3L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants WHERE user_id = 'revoked-user' AND revoked_at IS NOT NULL", Ct));
    }

    [Fact]
    public async Task Past_due_revokes_at_once_and_recovery_grants_again_under_the_same_ids()
    {
        using var client = App.ClientFor("late-payer", "late.payer@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        var ids = await Db.QueryColumnAsync<string>("SELECT id FROM kavach_polar_benefit_grants ORDER BY id", Ct);

        await Polar.FailRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Empty(await HeldInTableAsync(Db, "late-payer", Ct));

        await Polar.RecoverRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "late-payer", Ct));
        Assert.Equal(ids, await Db.QueryColumnAsync<string>("SELECT id FROM kavach_polar_benefit_grants ORDER BY id", Ct));
    }

    [Fact]
    public async Task Older_and_repeated_grant_deliveries_change_nothing()
    {
        using var client = App.ClientFor("shuffled", "shuffled.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);

        Polar.HoldDeliveries();
        await Polar.FailRenewalAsync(payment.SubscriptionId, Ct);
        await Polar.RecoverRenewalAsync(payment.SubscriptionId, Ct);
        // Newest first, each twice: the re-grants land before the revokes they follow, which are then older.
        Polar.ReleaseDeliveries(events => events.Reverse().SelectMany(e => new[] { e, e }));
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "shuffled", Ct));
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "shuffled", Ct));
        Assert.Equal(3L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE event_type = 'benefit_grant.revoked' AND outcome = 'stale'", Ct));
        Assert.True(await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE event_type LIKE 'benefit_grant.%'", Ct) >= 6);
        Assert.All(Polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode}"));
    }

    [Fact]
    public async Task A_grant_that_arrives_before_its_subscription_is_kept_and_linked_when_the_subscription_arrives()
    {
        using var client = App.ClientFor("early-grant", "early.grant@gmail.com");
        var checkout = await CheckoutAsync(client, Pro, Ct);
        Polar.HoldDeliveries();
        var payment = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal))
            .Concat(events.Where(e => !e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal))));
        await Polar.WaitForDeliveriesAsync(Ct);

        // Kept unlinked first (the subscription was not stored), then linked by the subscription's delivery, which the
        // webhook function hands to the general path.
        Assert.Equal(3, App.Logs.Collector.GetSnapshot().Count(r => r.Id.Id == 1200));
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "early-grant", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants WHERE user_id IS NULL", Ct));
        Assert.Equal(payment.SubscriptionId, await Db.ScalarAsync<string>("SELECT polar_subscription_id FROM kavach_users WHERE id = 'early-grant'", Ct));
    }

    [Fact]
    public async Task Grants_of_a_forgotten_user_are_deleted_and_later_ones_recorded_without_effect()
    {
        using var client = App.ClientFor("gone", "gone.user@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        await using (var scope = App.Services.CreateAsyncScope())
        {
            Assert.True(await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ForgetUserAsync("gone", Ct));
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants", Ct));

        await Polar.RevokeSubscriptionAsync(payment.SubscriptionId, Ct);
        await Polar.WaitForDeliveriesAsync(Ct);

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants", Ct));
        Assert.Equal(3L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE event_type = 'benefit_grant.revoked' AND outcome = 'forgotten'", Ct));
    }

    [Fact]
    public async Task A_signed_grant_without_usable_ids_is_kept_as_unprocessable_and_writes_no_grant()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"type":"benefit_grant.created","timestamp":"2026-12-07T05:00:00.000000Z","data":{"id":"","created_at":"2026-12-07T05:00:00Z",
            "customer_id":"0d5f4e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a","benefit_id":"a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01","granted_at":"2026-12-07T05:00:00Z",
            "benefit":{"id":"a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01","type":"downloadables","description":"Downloads"},"properties":{}}}
            """);

        var response = await App.DeliverAsync(body, "msg_bad_grant", Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE id = 'msg_bad_grant'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants", Ct));
    }
}
