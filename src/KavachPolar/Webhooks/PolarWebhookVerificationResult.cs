namespace KavachPolar.Webhooks;

/// <summary>The result of <see cref="PolarWebhookVerifier.Verify"/>: a status, without allocation.</summary>
public readonly struct PolarWebhookVerificationResult
{
    /// <summary>Creates a result with <paramref name="status"/>.</summary>
    /// <param name="status">What the verifier concluded about the delivery.</param>
    public PolarWebhookVerificationResult(PolarWebhookVerificationStatus status) => Status = status;

    /// <summary>What the verifier concluded about the delivery.</summary>
    public PolarWebhookVerificationStatus Status { get; }

    /// <summary><see langword="true"/> when <see cref="Status"/> is <see cref="PolarWebhookVerificationStatus.Valid"/>.</summary>
    public bool IsValid => Status == PolarWebhookVerificationStatus.Valid;

    /// <inheritdoc />
    public override string ToString() => Status.ToString();
}
