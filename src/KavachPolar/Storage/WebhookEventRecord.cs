namespace KavachPolar.Storage;

/// <summary>
/// A processed webhook delivery, keyed by <c>webhook-id</c> (<c>kavach_polar_webhook_events</c>).
/// Its presence makes a redelivery a no-op; a body that could not be processed is kept here raw.
/// </summary>
internal sealed class WebhookEventRecord
{
    public required string Id { get; set; }

    public required string EventType { get; set; }

    /// <summary>What happened: see <see cref="WebhookOutcomes"/>.</summary>
    public required string Outcome { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>The raw body, kept only when the event could not be processed.</summary>
    public string? Payload { get; set; }

    public string? Error { get; set; }
}
