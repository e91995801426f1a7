using System.Text;
using System.Text.Json;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Testing.Tests.Webhooks;

public sealed class PolarWebhookSignerTests
{
    public static TheoryData<string> PositiveVectors()
    {
        var data = new TheoryData<string>();
        foreach (var v in Vectors().RootElement.GetProperty("vectors").EnumerateArray())
        {
            if (v.TryGetProperty("expected_webhook_signature", out _))
            {
                data.Add(v.GetProperty("name").GetString()!);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PositiveVectors))]
    public void Signs_every_reference_vector_exactly_as_polar(string name)
    {
        using var doc = Vectors();
        var root = doc.RootElement;
        var v = root.GetProperty("vectors").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var mode = v.GetProperty("mode").GetString()!.StartsWith("legacy", StringComparison.Ordinal)
            ? PolarWebhookSigningMode.Legacy
            : PolarWebhookSigningMode.Standard;
        var signer = new PolarWebhookSigner(v.GetProperty("secret").GetString()!, mode);

        var signature = signer.Sign(
            root.GetProperty("webhook_id").GetString()!,
            long.Parse(root.GetProperty("webhook_timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            Encoding.UTF8.GetBytes(v.GetProperty("body").GetString()!));

        Assert.Equal(v.GetProperty("expected_webhook_signature").GetString(), signature);
    }

    [Fact]
    public void Standard_mode_rejects_a_secret_that_is_not_base64()
    {
        Assert.Throws<ArgumentException>(() => new PolarWebhookSigner("whsec_not base64!", PolarWebhookSigningMode.Standard));
    }

    private static JsonDocument Vectors() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "signature-test-vectors.json")));
}
