using System.Security.Claims;

namespace KavachPolar.Tests;

public sealed class OptionsDefaultsTests
{
    [Fact]
    public void Defaults_match_the_design()
    {
        var o = new KavachPolarOptions();
        Assert.Equal(TimeSpan.FromMinutes(5), o.WebhookTolerance);
        Assert.Equal(256 * 1024, o.MaxWebhookBodyBytes);
        Assert.Equal(10, o.CheckoutRateLimit);
        Assert.Equal(ClaimTypes.NameIdentifier, o.UserIdClaimType);
        Assert.False(o.Sandbox);
    }
}
