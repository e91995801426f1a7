namespace KavachPolar.Webhooks;

/// <summary>The result of <see cref="PolarWebhookVerifier.Verify"/>: a status, without allocation.</summary>
/// <param name="Status">What the verifier concluded about the delivery.</param>
public readonly record struct PolarWebhookVerificationResult(PolarWebhookVerificationStatus Status)
{
    /// <summary><see langword="true"/> when <see cref="Status"/> is <see cref="PolarWebhookVerificationStatus.Valid"/>.</summary>
    public bool IsValid => Status == PolarWebhookVerificationStatus.Valid;
}
