using System.Security.Cryptography;
using System.Text;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>
/// An independent verifier written from Polar's signing scheme (not the signer under test): the signed content is
/// <c>id.timestamp.body</c>; the legacy key is the UTF-8 of the whole secret, the standard key the base64 after <c>whsec_</c>.
/// </summary>
public static class Signatures
{
    public static bool VerifyLegacy(ReceivedWebhook webhook, string secret) => Verify(webhook, Encoding.UTF8.GetBytes(secret));

    public static bool VerifyStandard(ReceivedWebhook webhook, string secret) => Verify(webhook, Convert.FromBase64String(secret["whsec_".Length..]));

    private static bool Verify(ReceivedWebhook webhook, byte[] key)
    {
        var signed = Encoding.UTF8.GetBytes($"{webhook.Id}.{webhook.Timestamp}.").Concat(webhook.Body).ToArray();
        var expected = HMACSHA256.HashData(key, signed);
        return webhook.Signature.Split(' ')
            .Where(s => s.StartsWith("v1,", StringComparison.Ordinal))
            .Any(s => CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(s[3..]), expected));
    }
}
