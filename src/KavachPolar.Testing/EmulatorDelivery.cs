namespace KavachPolar.Testing;

/// <summary>One webhook delivery attempt, as the emulator made it.</summary>
/// <param name="EventId">The <c>webhook-id</c>: the same for every attempt of one event to one endpoint.</param>
/// <param name="EventType">The event type, e.g. <c>subscription.created</c>.</param>
/// <param name="EndpointId">The endpoint the attempt went to.</param>
/// <param name="Attempt">The attempt number for this event, starting at 1 (redeliveries continue the count).</param>
/// <param name="WebhookTimestamp">The <c>webhook-timestamp</c> header sent (Unix seconds of this attempt).</param>
/// <param name="Signature">The <c>webhook-signature</c> header sent.</param>
/// <param name="StatusCode">The HTTP status received, or <see langword="null"/> when there was no response.</param>
/// <param name="Error">Why the attempt failed without a response (timeout, connection refused), or <see langword="null"/>.</param>
/// <param name="StartedAt">When the attempt started (transport clock).</param>
/// <param name="CompletedAt">When the attempt ended (transport clock).</param>
public sealed record EmulatorDelivery(
    string EventId,
    string EventType,
    string EndpointId,
    int Attempt,
    long WebhookTimestamp,
    string Signature,
    int? StatusCode,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt)
{
    /// <summary>Whether Polar would count this attempt as delivered: a 2xx answer.</summary>
    public bool Succeeded => StatusCode is >= 200 and < 300;
}
