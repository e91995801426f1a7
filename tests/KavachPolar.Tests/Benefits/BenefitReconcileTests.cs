using System.Net;
using System.Text;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Benefits.BenefitSteps;

namespace KavachPolar.Tests.Benefits;

/// <summary>
/// Grants brought back from Polar's list endpoint (<c>GET /v1/benefit-grants/?customer_id=</c>) by the reconcile route
/// and by <c>customer.state_changed</c>, used only as a trigger when its benefits differ from the stored ones.
/// </summary>
public sealed class BenefitReconcileTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    [Fact]
    public async Task Reconcile_brings_back_grants_whose_webhooks_were_lost()
    {
        using var client = App.ClientFor("lost-grants", "lost.grants@gmail.com");
        var checkout = await CheckoutAsync(client, Pro, Ct);
        Polar.HoldDeliveries();
        var payment = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => !e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal) && e.Type != "customer.state_changed"));
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Empty(await HeldInTableAsync(Db, "lost-grants", Ct));

        var response = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "lost-grants", Ct));
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "lost-grants", Ct));
        Assert.Contains(Polar.ApiRequests, r => r.Path == "/v1/benefit-grants/" && r.Query.Contains("customer_id=" + payment.CustomerId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stored_grant_that_polar_no_longer_lists_is_gone_after_reconcile()
    {
        using var client = App.ClientFor("gone-grant", "gone.grant@gmail.com");
        var payment = await SubscribeAsync(Polar, client, Pro, Ct);
        // A grant Polar deleted (its benefit was deleted, say) while its webhook was lost.
        await Db.QueryAsync(
            "INSERT INTO kavach_polar_benefit_grants (id, user_id, customer_id, benefit_id, benefit_type, subscription_id, granted_at, properties, created_at_us, version_us, source_timestamp_us, updated_at) "
            + $"VALUES ('5e1d2c3b-0000-4a1b-8c2d-3e4f5a6b7c8d', 'gone-grant', '{payment.CustomerId}', 'b0b0b0b0-0000-4000-8000-000000000001', 'custom', '{payment.SubscriptionId}', now(), '{{}}', 0, 0, 0, now() - interval '1 minute')",
            Ct);
        Assert.Contains("b0b0b0b0-0000-4000-8000-000000000001", await HeldInTableAsync(Db, "gone-grant", Ct));

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct)).StatusCode);

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants WHERE id = '5e1d2c3b-0000-4a1b-8c2d-3e4f5a6b7c8d'", Ct));
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "gone-grant", Ct));
    }

    [Fact]
    public async Task A_reconcile_whose_grant_list_polar_refuses_answers_polars_error_and_keeps_the_grants()
    {
        using var client = App.ClientFor("refused-list", "refused.list@gmail.com");
        await SubscribeAsync(Polar, client, Pro, Ct);
        Polar.InjectFault(HttpMethod.Get, "/v1/benefit-grants/", 403);

        var response = await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct);

        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "refused-list", Ct));
    }

    [Fact]
    public async Task Reconciling_everything_brings_back_every_customers_grants_and_removes_those_polar_lists_for_nobody()
    {
        using var ada = App.ClientFor("all-ada", "all.ada@gmail.com");
        using var bob = App.ClientFor("all-bob", "all.bob@gmail.com");
        var adaCheckout = await CheckoutAsync(ada, Pro, Ct);
        var bobCheckout = await CheckoutAsync(bob, Pro, Ct);
        Polar.HoldDeliveries();
        var adaPayment = await Polar.PayCheckoutAsync(adaCheckout, cancellationToken: Ct);
        var bobPayment = await Polar.PayCheckoutAsync(bobCheckout, cancellationToken: Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => !e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal) && e.Type != "customer.state_changed"));
        await Polar.WaitForDeliveriesAsync(Ct);
        // A grant of a customer Polar lists no grant for at all (deleted at Polar while its webhook was lost).
        await Db.QueryAsync(
            "INSERT INTO kavach_polar_benefit_grants (id, user_id, customer_id, benefit_id, benefit_type, granted_at, properties, created_at_us, version_us, source_timestamp_us, updated_at) "
            + "VALUES ('6f2e3d4c-0000-4a1b-8c2d-3e4f5a6b7c8d', 'all-ada', 'c0c0c0c0-0000-4000-8000-000000000009', 'b0b0b0b0-0000-4000-8000-000000000002', 'custom', now(), '{}', 0, 0, 0, now() - interval '1 minute')",
            Ct);
        Assert.Equal(["b0b0b0b0-0000-4000-8000-000000000002"], await HeldInTableAsync(Db, "all-ada", Ct));
        Assert.Empty(await HeldInTableAsync(Db, "all-bob", Ct));

        await using var scope = App.Services.CreateAsyncScope();
        var summary = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileAllAsync(Ct);

        Assert.Null(summary.ErrorCode);
        Assert.Equal(6, summary.BenefitGrantsRead);
        Assert.Equal(HeldAtPolar(Polar, adaPayment.CustomerId), await HeldInTableAsync(Db, "all-ada", Ct));
        Assert.Equal(HeldAtPolar(Polar, bobPayment.CustomerId), await HeldInTableAsync(Db, "all-bob", Ct));
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "all-bob", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_benefit_grants WHERE id = '6f2e3d4c-0000-4a1b-8c2d-3e4f5a6b7c8d'", Ct));
        // Ada gains three benefits and loses one, Bob gains three.
        Assert.Equal(7, summary.BenefitChanges);
        Assert.Contains(Polar.ApiRequests, r => r.Path == "/v1/benefit-grants/" && !r.Query.Contains("customer_id", StringComparison.Ordinal));

        var again = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileAllAsync(Ct);
        Assert.Equal(0, again.BenefitChanges);
    }

    [Fact]
    public async Task Reconciling_everything_when_polar_refuses_the_grant_list_names_the_error_and_removes_nothing()
    {
        using var client = App.ClientFor("all-refused", "all.refused@gmail.com");
        await SubscribeAsync(Polar, client, Pro, Ct);
        Polar.InjectFault(HttpMethod.Get, "/v1/benefit-grants/", 403);

        await using var scope = App.Services.CreateAsyncScope();
        var summary = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileAllAsync(Ct);

        Assert.NotNull(summary.ErrorCode);
        Assert.Equal(1, summary.SubscriptionsRead);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "all-refused", Ct));
    }

    [Fact]
    public async Task A_customer_state_naming_other_benefits_than_stored_reconciles_the_customer()
    {
        using var client = App.ClientFor("state-user", "state.user@gmail.com");
        var checkout = await CheckoutAsync(client, Pro, Ct);
        Polar.HoldDeliveries();
        var payment = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        // Every grant webhook lost; the state changes still arrive.
        Polar.ReleaseDeliveries(events => events.Where(e => !e.Type.StartsWith("benefit_grant.", StringComparison.Ordinal)));
        await Polar.WaitForDeliveriesAsync(Ct);

        await Wait.UntilAsync(
            async () => (await HeldInTableAsync(Db, "state-user", Ct)).Count == 3,
            because: "customer.state_changed names benefits the table lacks, so the customer's grants are read from Polar");
        Assert.Equal(HeldAtPolar(Polar, payment.CustomerId), await HeldInTableAsync(Db, "state-user", Ct));
    }

    [Fact]
    public async Task A_customer_state_equal_to_the_stored_grants_asks_polar_nothing()
    {
        using var client = App.ClientFor("equal-state", "equal.state@gmail.com");
        var checkout = await CheckoutAsync(client, Pro, Ct);
        Polar.HoldDeliveries();
        var payment = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        // Polar's own state changes left out, so that nothing else triggers a read meanwhile.
        Polar.ReleaseDeliveries(events => events.Where(e => e.Type != "customer.state_changed"));
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal([Downloads, BetaFeatures, LicenseKey], await HeldInTableAsync(Db, "equal-state", Ct));
        var state = Polar.GetCustomerStateJson(payment.CustomerId);
        var before = Polar.ApiRequests.Count(r => r.Path == "/v1/benefit-grants/");
        var stateEvent = Encoding.UTF8.GetBytes("{\"type\":\"customer.state_changed\",\"timestamp\":\"" + DateTimeOffset.UtcNow.ToString("O") + "\",\"data\":" + state + "}");
        // And one naming a benefit the table lacks, delivered after it: the refresher handles them in order.
        var differing = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(stateEvent).Replace("\"granted_benefits\":[", "\"granted_benefits\":[{\"id\":\"5e1d2c3b-0000-4a1b-8c2d-3e4f5a6b7c8e\",\"benefit_id\":\"b0b0b0b0-0000-4000-8000-000000000002\"},", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Accepted, (await App.DeliverAsync(stateEvent, "msg_equal_state", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await App.DeliverAsync(differing, "msg_differing_state", Ct)).StatusCode);

        await Wait.UntilAsync(() => Task.FromResult(Polar.ApiRequests.Count(r => r.Path == "/v1/benefit-grants/") > before), because: "the differing state reconciles");
        Assert.Equal(before + 1, Polar.ApiRequests.Count(r => r.Path == "/v1/benefit-grants/"));
        Assert.Equal("ignored", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE id = 'msg_equal_state'", Ct));
    }

    [Fact]
    public async Task A_signed_customer_state_without_a_customer_id_is_kept_as_unprocessable()
    {
        var body = Encoding.UTF8.GetBytes("""{"type":"customer.state_changed","timestamp":"2026-12-07T05:00:00.000000Z","data":{"id":"","granted_benefits":[]}}""");

        Assert.Equal(HttpStatusCode.Accepted, (await App.DeliverAsync(body, "msg_bad_state", Ct)).StatusCode);
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events WHERE id = 'msg_bad_state'", Ct));
    }
}
