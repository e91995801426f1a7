using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Benefits.BenefitSteps;
using static KavachPolar.Tests.Orders.OrderSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>The billing history on SQLite (the sample's default store), which cannot order by a <see cref="DateTimeOffset"/> in SQL.</summary>
public sealed class OrderSqliteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_sqlite_the_billing_history_lists_the_users_orders_newest_first_and_the_purchase_gate_reads_them()
    {
        var file = Path.Combine(Path.GetTempPath(), "kavach-orders-" + Guid.NewGuid().ToString("N") + ".db");
        await using var polar = await PolarEmulator.StartAsync(new PolarEmulatorOptions(), Ct);
        try
        {
            await using var app = await KavachTestApp.StartAsync(
                "",
                new()
                {
                    PolarApi = polar.BaseUrl,
                    Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = polar.AccessToken },
                    Database = o => o.UseSqlite($"Data Source={file}"),
                });
            polar.AddWebhookEndpoint(app.WebhookUrl, KavachTestApp.DefaultSecret);
            using var client = app.ClientFor("sqlite-buyer", "sqlite.buyer@gmail.com", "Sqlite Buyer");

            var subscription = await SubscribeAsync(polar, client, polar.Products[0].Id, Ct);
            await polar.AdvanceTimeAsync(TimeSpan.FromDays(1), Ct);
            var purchase = await BuyAsync(polar, client, Lifetime, Ct);

            var listed = (await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/orders", Ct))!["orders"]!.AsArray();
            Assert.Equal([purchase.OrderId, subscription.OrderId], listed.Select(o => (string)o!["id"]!));
            await using var scope = app.Services.CreateAsyncScope();
            var entitlements = scope.ServiceProvider.GetRequiredService<IKavachPolarEntitlements>();
            Assert.Equal(purchase.OrderId, Assert.Single(await entitlements.GetOrdersAsync("sqlite-buyer", 1, Ct)).Id);
            Assert.True(await entitlements.HasPurchasedAsync("sqlite-buyer", Lifetime, Ct));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }
}
