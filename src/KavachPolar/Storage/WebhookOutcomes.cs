namespace KavachPolar.Storage;

/// <summary>Values of <see cref="WebhookEventRecord.Outcome"/>.</summary>
internal static class WebhookOutcomes
{
    public const string Applied = "applied";
    public const string Stale = "stale";
    public const string Ignored = "ignored";
    public const string OtherOrganization = "other_organization";
    public const string Unprocessable = "unprocessable";

    /// <summary>A redelivery of an event already recorded (an answer, never stored).</summary>
    public const string Duplicate = "duplicate";

    /// <summary>The event names a user (or Polar customer) the host forgot: recorded, not applied.</summary>
    public const string Forgotten = "forgotten";
}
