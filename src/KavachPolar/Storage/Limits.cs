namespace KavachPolar.Storage;

/// <summary>Column and input length limits, shared by the model and input validation.</summary>
internal static class Limits
{
    public const int UserId = 256;
    public const int PolarId = 64;
    public const int WebhookId = 256;
    public const int Email = 320;
    public const int Name = 256;

    /// <summary>A Polar subscription status, and a webhook outcome.</summary>
    public const int Status = 32;

    /// <summary>A Polar event type.</summary>
    public const int EventType = 128;

    /// <summary>A callback dispatcher's lock owner (machine, process, instance and batch).</summary>
    public const int LockOwner = 128;

    /// <summary>A kind of change (<c>subscription</c>, <c>benefit</c>).</summary>
    public const int Kind = 32;

    /// <summary>An error recorded for a webhook or a callback.</summary>
    public const int Error = 1024;

    /// <summary>A Polar benefit type (<c>github_repository</c> is the longest today).</summary>
    public const int BenefitType = 64;

    /// <summary>A benefit's description (Polar allows 3-42 characters).</summary>
    public const int BenefitDescription = 256;

    /// <summary>A usage event's name: Polar's limit (characters).</summary>
    public const int UsageEventName = 128;

    /// <summary>A usage event's <c>external_id</c> (ours; Polar sets none).</summary>
    public const int UsageExternalId = 256;

    /// <summary>An ISO 4217 currency code (Polar writes three lower-case letters).</summary>
    public const int Currency = 8;
}
