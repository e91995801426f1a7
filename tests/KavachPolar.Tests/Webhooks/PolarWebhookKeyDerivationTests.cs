using System.Text;
using KavachPolar.Webhooks;

namespace KavachPolar.Tests.Webhooks;

/// <summary>The forgiving base64 decoder must agree with JavaScript's <c>atob</c>, which Polar's SDK uses.</summary>
public sealed class PolarWebhookKeyDerivationTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("QQ==", "41")]
    [InlineData("QQ", "41")]
    [InlineData("QUI=", "4142")]
    [InlineData("QUI", "4142")]
    [InlineData("QUJD", "414243")]
    [InlineData(" Q U\tJ\nD\r\f", "414243")]
    [InlineData("QR", "41")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")]
    [InlineData("7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV", "ed8b774292fdb17c3655bf0d738473e8a7751dfe499b419add3bbb138ef42d95")]
    public void Decodes_like_atob(string input, string expectedHex)
    {
        var decoded = PolarWebhookKeyDerivation.DecodeForgivingBase64(input);

        Assert.NotNull(decoded);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(decoded));
    }

    [Theory]
    [InlineData("Q")]
    [InlineData("QUJDR")]
    [InlineData("Q===")]
    [InlineData("QQ=")]
    [InlineData("Q=Q=")]
    [InlineData("=QQQ")]
    [InlineData("QQ-_")]
    [InlineData("polar_whs_abc")]
    [InlineData("caf\u00e9")]
    [InlineData("QUJD\u00a0")]
    public void Refuses_what_atob_refuses_without_throwing(string input)
    {
        Assert.Null(PolarWebhookKeyDerivation.DecodeForgivingBase64(input));
    }

    [Fact]
    public void Secret_without_whsec_prefix_that_is_base64_also_yields_its_decoded_key()
    {
        var keys = PolarWebhookKeyDerivation.DeriveKeys(["QUJDRA=="], "secrets");

        Assert.Equal(2, keys.Length);
        Assert.Equal("ABCD"u8.ToArray(), keys[1]);
    }

    [Fact]
    public void Secret_whose_remainder_decodes_to_nothing_has_only_its_utf8_key()
    {
        var keys = PolarWebhookKeyDerivation.DeriveKeys(["whsec_"], "secrets");

        Assert.Single(keys);
        Assert.Equal(Encoding.UTF8.GetBytes("whsec_"), keys[0]);
    }
}
