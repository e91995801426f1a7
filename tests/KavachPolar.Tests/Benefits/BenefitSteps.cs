using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;

namespace KavachPolar.Tests.Benefits;

/// <summary>Steps the benefit tests share: a checkout as the app starts it, paid at the emulator.</summary>
internal static class BenefitSteps
{
    /// <summary>The demo benefits' ids (the emulator's fixed catalogue).</summary>
    public const string Downloads = "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01";
    public const string BetaFeatures = "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a02";
    public const string LicenseKey = "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03";
    public const string PrioritySupport = "a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a04";
    public const string Discord = "a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a05";

    /// <summary>Creates the checkout through the app (retrying a 503 on a loaded machine), without paying it.</summary>
    public static async Task<string> CheckoutAsync(HttpClient client, string productId, CancellationToken ct)
    {
        using var response = await Retry503.SendAsync(() => client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId }, ct), ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>(ct))!["id"]!;
    }

    /// <summary>Subscribes the signed-in user and waits until Polar's deliveries (subscription and grants) are in.</summary>
    public static async Task<EmulatorPaymentResult> SubscribeAsync(PolarEmulator polar, HttpClient client, string productId, CancellationToken ct)
    {
        var payment = await polar.PayCheckoutAsync(await CheckoutAsync(client, productId, ct), cancellationToken: ct);
        await polar.WaitForDeliveriesAsync(ct);
        return payment;
    }

    /// <summary>The benefit ids the user holds according to the table: any grant granted.</summary>
    public static async Task<List<string>> HeldInTableAsync(PostgresDatabase db, string userId, CancellationToken ct) =>
        [.. (await db.QueryColumnAsync<string>($"SELECT DISTINCT benefit_id FROM kavach_polar_benefit_grants WHERE user_id = '{userId}' AND granted_at IS NOT NULL", ct)).Order(StringComparer.Ordinal)];

    /// <summary>The benefit ids the emulator says the customer holds: any grant granted.</summary>
    public static List<string> HeldAtPolar(PolarEmulator polar, string customerId) =>
        [.. polar.BenefitGrants.Where(g => g.CustomerId == customerId && g.IsGranted).Select(g => g.BenefitId).Distinct().Order(StringComparer.Ordinal)];
}
