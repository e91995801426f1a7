namespace KavachPolar.Testing.Webhooks;

/// <summary>How Polar turns an endpoint's secret into the HMAC key.</summary>
public enum PolarWebhookSigningMode
{
    /// <summary>
    /// Polar's original scheme, still used for secrets created before 2026-09-08 and for
    /// merchant-supplied secrets: the key is the UTF-8 bytes of the whole secret string, prefix included.
    /// </summary>
    Legacy,

    /// <summary>
    /// The Standard Webhooks scheme, used for secrets generated on or after 2026-09-08: the key is
    /// the base64-decoded part after <c>whsec_</c>.
    /// </summary>
    Standard,
}
