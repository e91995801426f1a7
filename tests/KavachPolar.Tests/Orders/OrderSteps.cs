using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Benefits.BenefitSteps;

namespace KavachPolar.Tests.Orders;

/// <summary>Steps the order tests share: a one-time product bought through the app's checkout and paid at the emulator.</summary>
internal static class OrderSteps
{
    public const string Lifetime = PolarEmulator.DemoLifetimeProductId;
    public const string AddOn = PolarEmulator.DemoAddOnProductId;

    /// <summary>Buys <paramref name="productId"/> for the signed-in user and waits until Polar's deliveries are in.</summary>
    public static Task<EmulatorPaymentResult> BuyAsync(PolarEmulator polar, HttpClient client, string productId, CancellationToken ct) =>
        SubscribeAsync(polar, client, productId, ct);

    /// <summary>The stored order's column, as text.</summary>
    public static Task<string?> ColumnAsync(PostgresDatabase db, string orderId, string column, CancellationToken ct) =>
        db.ScalarAsync<string>($"SELECT {column}::text FROM kavach_polar_orders WHERE id = '{orderId}'", ct);
}
