namespace KavachPolar.Webhooks;

/// <summary>The outcome of checking one webhook delivery's <c>webhook-*</c> headers against its body.</summary>
/// <remarks>
/// <see cref="MissingHeader"/> and <see cref="MalformedHeader"/> describe a request that is not a
/// well-formed Standard Webhooks delivery (HTTP 400); the other failures describe a well-formed
/// delivery that is stale or not signed with a configured secret (HTTP 403).
/// </remarks>
public enum PolarWebhookVerificationStatus
{
    /// <summary>The timestamp is within tolerance and a <c>v1</c> signature matches a configured secret.</summary>
    Valid,

    /// <summary><c>webhook-id</c>, <c>webhook-timestamp</c> or <c>webhook-signature</c> is missing or empty.</summary>
    MissingHeader,

    /// <summary>
    /// A header is present but cannot be what Polar sends: an id that is too long or contains a dot,
    /// whitespace, a control or non-ASCII character; a timestamp that is not plain decimal digits fitting
    /// a 64-bit integer; or a signature header without any <c>vN,</c> entry.
    /// </summary>
    MalformedHeader,

    /// <summary>The timestamp is further in the past than the tolerance allows.</summary>
    TimestampTooOld,

    /// <summary>The timestamp is further in the future than the tolerance allows.</summary>
    TimestampTooNew,

    /// <summary>No <c>v1</c> signature in the header matches the body under any configured secret.</summary>
    SignatureMismatch,
}
