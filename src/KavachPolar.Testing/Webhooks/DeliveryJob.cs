namespace KavachPolar.Testing.Webhooks;

/// <summary>One send of an event with its retries; <paramref name="SequenceAttempt"/> counts within this send.</summary>
internal sealed record DeliveryJob(EmulatorWebhookEvent Event, EmulatorWebhookEndpoint Endpoint, int SequenceAttempt);
