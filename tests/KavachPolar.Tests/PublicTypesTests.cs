using System.Security.Claims;
using System.Text.Json;

namespace KavachPolar.Tests;

public sealed class PublicTypesTests
{
    [Fact]
    public void Option_defaults_match_the_design()
    {
        var o = new KavachPolarOptions();
        Assert.Equal(TimeSpan.FromMinutes(5), o.WebhookTolerance);
        Assert.Equal(256 * 1024, o.MaxWebhookBodyBytes);
        Assert.Equal(10, o.CheckoutRateLimit);
        Assert.Equal(ClaimTypes.NameIdentifier, o.UserIdClaimType);
        Assert.False(o.Sandbox);
        Assert.Null(o.ApiBaseUrl);
        Assert.Empty(o.WebhookSecrets);
        Assert.Empty(o.Products);
        Assert.Empty(o.AllowedRedirectOrigins);
    }

    [Fact]
    public void A_subscription_change_round_trips_through_plain_System_Text_Json()
    {
        var change = new KavachSubscriptionChange(
            "usr_1",
            new KavachSubscription("s2", "active", "p", new DateTimeOffset(2026, 11, 1, 9, 16, 48, TimeSpan.Zero), true),
            null,
            "3e0a7f8c-2d4b-4c6e-9a1f-5b7d9e2c4a60",
            "subscription.canceled");

        var json = JsonSerializer.Serialize(change);
        Assert.DoesNotContain("IsEntitled", json, StringComparison.Ordinal);
        Assert.Equal(change, JsonSerializer.Deserialize<KavachSubscriptionChange>(json));
    }

    [Theory]
    [InlineData("active", true)]
    [InlineData("trialing", true)]
    [InlineData("past_due", false)]
    [InlineData("canceled", false)]
    public void Only_active_and_trialing_are_entitled(string status, bool entitled)
    {
        Assert.Equal(entitled, new KavachSubscription("s", status, "p", null, false).IsEntitled);
    }
}
