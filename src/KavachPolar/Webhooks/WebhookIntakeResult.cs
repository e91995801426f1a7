namespace KavachPolar.Webhooks;

/// <summary>
/// What became of one webhook request: <see cref="Accepted"/> with the processor's outcome (committed),
/// <see cref="Refused"/> before anything was written, or <see cref="StoreUnavailable"/> when the database did not
/// answer within <see cref="KavachPolarOptions.WebhookProcessingTimeout"/>.
/// </summary>
internal abstract record WebhookIntakeResult
{
    private WebhookIntakeResult()
    {
    }

    /// <summary>Processed and committed; <see cref="Outcome"/> is what the processor did (applied, duplicate...).</summary>
    public sealed record Accepted(string Outcome) : WebhookIntakeResult;

    /// <summary>Refused with a <see cref="KavachPolarErrorCodes"/> value (its status: <see cref="KavachPolarErrorStatuses"/>); nothing was written.</summary>
    public sealed record Refused(string Code, string Title) : WebhookIntakeResult;

    /// <summary>The database did not answer in time; Polar should retry.</summary>
    public sealed record StoreUnavailable : WebhookIntakeResult
    {
        public static readonly StoreUnavailable Instance = new();
    }
}
