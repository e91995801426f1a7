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
        Assert.Empty(o.TrustedOrigins);
    }

    [Fact]
    public void A_subscription_change_round_trips_through_plain_System_Text_Json()
    {
        var change = new KavachSubscriptionChange
        {
            UserId = "usr_1",
            Current = new KavachSubscription { Id = "s2", Status = "active", ProductId = "p", CurrentPeriodEnd = new DateTimeOffset(2026, 11, 1, 9, 16, 48, TimeSpan.Zero), CancelAtPeriodEnd = true },
            EventId = "3e0a7f8c-2d4b-4c6e-9a1f-5b7d9e2c4a60",
            EventType = "subscription.canceled",
        };

        var json = JsonSerializer.Serialize(change);
        Assert.DoesNotContain("IsEntitled", json, StringComparison.Ordinal);
        Assert.Equal(change, JsonSerializer.Deserialize<KavachSubscriptionChange>(json));
    }

    [Fact]
    public void A_change_or_subscription_without_a_required_field_does_not_deserialize()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<KavachSubscriptionChange>("""{"EventId":"e","EventType":"subscription.updated"}"""));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<KavachSubscription>("""{"Id":"s","Status":"active"}"""));
    }

    [Theory]
    [InlineData("active", true)]
    [InlineData("trialing", true)]
    [InlineData("past_due", false)]
    [InlineData("canceled", false)]
    public void Only_active_and_trialing_are_entitled(string status, bool entitled)
    {
        Assert.Equal(entitled, new KavachSubscription { Id = "s", Status = status, ProductId = "p" }.IsEntitled);
    }
}
