namespace KavachPolar.Testing.Webhooks;

/// <summary>One queued send of an event; its attempts are counted on the event itself.</summary>
internal sealed record DeliveryJob(EmulatorWebhookEvent Event, EmulatorWebhookEndpoint Endpoint);
