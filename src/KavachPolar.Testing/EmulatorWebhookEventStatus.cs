namespace KavachPolar.Testing;

/// <summary>Where a webhook event stands.</summary>
public enum EmulatorWebhookEventStatus
{
    /// <summary>Waiting for its first attempt or for a retry.</summary>
    Pending,

    /// <summary>Held back by <see cref="PolarEmulator.HoldDeliveries"/>.</summary>
    Held,

    /// <summary>An attempt got a 2xx.</summary>
    Succeeded,

    /// <summary>Every attempt failed (Polar's <c>succeeded=false</c>).</summary>
    Failed,

    /// <summary>Dropped: the endpoint was disabled, or a release left it out.</summary>
    Skipped,
}
