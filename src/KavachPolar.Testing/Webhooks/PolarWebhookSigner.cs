using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace KavachPolar.Testing.Webhooks;

/// <summary>
/// Signs webhook bodies exactly as Polar does: Standard Webhooks headers, one <c>v1,</c> signature
/// over <c>webhook-id.webhook-timestamp.body</c>, with the key derived from the secret by
/// <see cref="PolarWebhookSigningMode"/>.
/// </summary>
public sealed class PolarWebhookSigner
{
    private readonly byte[] _key;

    /// <summary>Creates a signer for one endpoint secret.</summary>
    /// <param name="secret">The endpoint secret as Polar shows it.</param>
    /// <param name="mode">The key derivation Polar uses for this endpoint.</param>
    /// <exception cref="ArgumentException">The secret is empty, or <paramref name="mode"/> is
    /// <see cref="PolarWebhookSigningMode.Standard"/> and the part after <c>whsec_</c> is not base64.</exception>
    public PolarWebhookSigner(string secret, PolarWebhookSigningMode mode = PolarWebhookSigningMode.Legacy)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Secret = secret;
        Mode = mode;
        _key = DeriveKey(secret, mode);
    }

    /// <summary>The endpoint secret.</summary>
    public string Secret { get; }

    /// <summary>The key derivation in use.</summary>
    public PolarWebhookSigningMode Mode { get; }

    /// <summary>Derives the HMAC key Polar uses for <paramref name="secret"/> in <paramref name="mode"/>.</summary>
    /// <exception cref="ArgumentException">Standard mode and the secret is not <c>whsec_</c> followed by base64.</exception>
    public static byte[] DeriveKey(string secret, PolarWebhookSigningMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (mode == PolarWebhookSigningMode.Legacy)
        {
            return Encoding.UTF8.GetBytes(secret);
        }

        var rest = secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret["whsec_".Length..] : secret;
        try
        {
            var key = Convert.FromBase64String(rest);
            if (key.Length == 0)
            {
                throw new ArgumentException("A Standard Webhooks secret must decode to at least one byte.", nameof(secret));
            }

            return key;
        }
        catch (FormatException e)
        {
            throw new ArgumentException("A Standard Webhooks secret is 'whsec_' followed by base64.", nameof(secret), e);
        }
    }

    /// <summary>Creates a secret in Standard Webhooks form: <c>whsec_</c> and 32 random bytes in base64.</summary>
    public static string CreateStandardSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// Computes the <c>webhook-signature</c> header value (<c>v1,&lt;base64&gt;</c>) for one delivery attempt.
    /// </summary>
    /// <param name="webhookId">The <c>webhook-id</c> header value.</param>
    /// <param name="timestamp">The <c>webhook-timestamp</c> header value: Unix seconds of this attempt.</param>
    /// <param name="body">The exact body bytes sent.</param>
    public string Sign(string webhookId, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(webhookId);
        var prefix = Encoding.UTF8.GetBytes($"{webhookId}.{timestamp}.");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(_key, signed));
    }

    /// <summary>
    /// Builds the POST Polar would send: <c>user-agent</c>, <c>content-type</c>, the three
    /// <c>webhook-*</c> headers and the body, unchanged.
    /// </summary>
    /// <param name="url">The endpoint URL.</param>
    /// <param name="body">The compact JSON body, as bytes.</param>
    /// <param name="webhookId">The event's <c>webhook-id</c>; a new UUID when <see langword="null"/>.</param>
    /// <param name="timestamp">The attempt's time; now when <see langword="null"/>.</param>
    public HttpRequestMessage CreateRequest(Uri url, byte[] body, string? webhookId = null, DateTimeOffset? timestamp = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(body);
        var id = webhookId ?? Guid.NewGuid().ToString();
        var ts = (timestamp ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("user-agent", "polar.sh webhooks");
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", Sign(id, ts, body));
        return request;
    }
}
