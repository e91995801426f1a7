using System.Globalization;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Tests.Webhooks;

/// <summary>The three <c>webhook-*</c> header values and the body of one delivery.</summary>
internal sealed record TestDelivery(string Id, string Timestamp, string Signature, byte[] Body)
{
    public static readonly DateTimeOffset Now = new(2026, 10, 1, 9, 16, 48, TimeSpan.Zero);

    /// <summary>A delivery signed the way Polar signs it, at <paramref name="timestamp"/> (default <see cref="Now"/>).</summary>
    public static TestDelivery Signed(
        string secret,
        PolarWebhookSigningMode mode,
        byte[]? body = null,
        DateTimeOffset? timestamp = null,
        string id = "3e0a7f8c-2d4b-4c6e-9a1f-5b7d9e2c4a60")
    {
        body ??= "{\"type\":\"subscription.updated\",\"data\":{\"id\":\"e5149aae\"}}"u8.ToArray();
        var ts = (timestamp ?? Now).ToUnixTimeSeconds();
        var signature = new PolarWebhookSigner(secret, mode).Sign(id, ts, body);
        return new TestDelivery(id, ts.ToString(CultureInfo.InvariantCulture), signature, body);
    }
}
