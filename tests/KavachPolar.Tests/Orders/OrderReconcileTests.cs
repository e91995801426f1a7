using System.Net;
using KavachPolar.Testing;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;
using static KavachPolar.Tests.Orders.OrderSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>
/// Orders whose webhooks were lost, brought back by <see cref="IKavachPolarSubscriptions.ReconcileAllAsync"/> from
/// Polar's organization-wide <c>GET /v1/orders/</c>: a purchase opens its gate, a refund closes it, renewals are listed.
/// </summary>
public sealed class OrderReconcileTests : PolarAppTest
{
    private string Pro => Polar.Products[0].Id;

    protected override PolarEmulatorOptions EmulatorOptions() => FastRetries();

    protected override Task<KavachTestApp> StartAppAsync() =>
        KavachTestApp.StartAsync(Db.ConnectionString, Polar, new() { Pipeline = app => app.MapGet("/lifetime", () => "lifetime").RequirePurchase(Lifetime) });

    [Fact]
    public async Task Reconciling_everything_brings_back_lost_orders_a_purchase_opens_its_gate_and_a_lost_full_refund_closes_it()
    {
        using var buyer = App.ClientFor("lost-buyer", "lost.buyer@gmail.com");
        using var subscriber = App.ClientFor("lost-renewal", "lost.renewal@gmail.com");
        var subscription = await SubscribeAsync(Polar, subscriber, Pro, Ct);
        var checkout = await CheckoutAsync(buyer, Lifetime, Ct);

        // Every order event is lost: the purchase, and the subscriber's renewal a month later.
        Polar.HoldDeliveries();
        var purchase = await Polar.PayCheckoutAsync(checkout, cancellationToken: Ct);
        await Polar.AdvanceTimeAsync(TimeSpan.FromDays(32), Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => !e.Type.StartsWith("order.", StringComparison.Ordinal)));
        await Polar.WaitForDeliveriesAsync(Ct);
        await CheckoutEndpointTests.AssertProblemAsync(await buyer.GetAsync("lifetime", Ct), HttpStatusCode.Forbidden, "purchase_required");
        Assert.Equal(1, await OrderCountAsync("lost-renewal"));

        var summary = await ReconcileAllAsync();

        Assert.Null(summary.ErrorCode);
        Assert.Equal(3, summary.OrdersRead);
        Assert.Equal("lifetime", await buyer.GetStringAsync("lifetime", Ct));
        Assert.Equal([purchase.OrderId], await OrderIdsAsync("lost-buyer"));
        var renewals = await OrderIdsAsync("lost-renewal");
        Assert.Equal(2, renewals.Count);
        Assert.Equal(subscription.OrderId, renewals[1]);
        Assert.Equal("subscription_cycle", await ColumnAsync(Db, renewals[0], "billing_reason", Ct));
        Assert.Contains(Polar.ApiRequests, r => r.Path == "/v1/orders/" && !r.Query.Contains("customer_id", StringComparison.Ordinal));

        // The full refund's order events are lost too: the next reconcile closes the gate.
        Polar.HoldDeliveries();
        await Polar.RefundAsync(purchase.OrderId, cancellationToken: Ct);
        Polar.ReleaseDeliveries(events => events.Where(e => !e.Type.StartsWith("order.", StringComparison.Ordinal)));
        await Polar.WaitForDeliveriesAsync(Ct);
        Assert.Equal("lifetime", await buyer.GetStringAsync("lifetime", Ct));

        await ReconcileAllAsync();

        Assert.Equal("refunded", await ColumnAsync(Db, purchase.OrderId, "status", Ct));
        await CheckoutEndpointTests.AssertProblemAsync(await buyer.GetAsync("lifetime", Ct), HttpStatusCode.Forbidden, "purchase_required");
    }

    private async Task<KavachReconcileSummary> ReconcileAllAsync()
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReconcileAllAsync(Ct);
    }

    private async Task<long> OrderCountAsync(string userId) =>
        await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_orders WHERE user_id = '{userId}'", Ct);

    private async Task<List<string>> OrderIdsAsync(string userId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return [.. (await scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>().GetOrdersAsync(userId, cancellationToken: Ct)).Select(o => o.Id)];
    }
}
