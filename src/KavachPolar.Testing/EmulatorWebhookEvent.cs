namespace KavachPolar.Testing;

/// <summary>One webhook event for one endpoint (Polar keeps one event row per endpoint).</summary>
public sealed class EmulatorWebhookEvent
{
    internal EmulatorWebhookEvent(string eventId, string type, string endpointId, string body, DateTimeOffset timestamp)
    {
        EventId = eventId;
        Type = type;
        EndpointId = endpointId;
        Body = body;
        Timestamp = timestamp;
    }

    /// <summary>The <c>webhook-id</c>.</summary>
    public string EventId { get; }

    /// <summary>The event type.</summary>
    public string Type { get; }

    /// <summary>The endpoint this event is for.</summary>
    public string EndpointId { get; }

    /// <summary>The exact body sent (compact JSON envelope).</summary>
    public string Body { get; }

    /// <summary>The envelope <c>timestamp</c>: when the event was generated (emulator clock).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The delivery state.</summary>
    public EmulatorWebhookEventStatus Status { get; internal set; }

    /// <summary>How many attempts were made so far, redeliveries included.</summary>
    public int Attempts { get; internal set; }

    /// <summary>
    /// Polar's <c>succeeded</c> column: null until the event completes, then whether it was ever delivered. A redelivery
    /// keeps the previous outcome until it completes; a failed redelivery never undoes a success.
    /// </summary>
    internal bool? Outcome { get; set; }
}
