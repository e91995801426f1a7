namespace KavachPolar;

/// <summary>
/// When the health check (<c>AddHealthChecks().AddKavachPolar()</c>) reports a backlog as Degraded. A backlog never makes
/// it Unhealthy: restarting the process fixes none of them. Configuration section <c>KavachPolar:Health</c>.
/// </summary>
public sealed class KavachPolarHealthOptions
{
    /// <summary>
    /// Degraded once the oldest change waiting for the host's change handlers was queued longer ago than this: a handler
    /// keeps failing, or no instance with a handler runs. Default 5 minutes. Key <c>KavachPolar:Health:CallbackBacklogAge</c>.
    /// </summary>
    public TimeSpan CallbackBacklogAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Degraded once this many signed deliveries could not be processed and wait for a replay. Default 1. Key
    /// <c>KavachPolar:Health:UnprocessableDeliveries</c>.
    /// </summary>
    public int UnprocessableDeliveries { get; set; } = 1;

    /// <summary>
    /// Degraded once this many users' changes wait to be announced to the other instances' caches (which serve what they
    /// hold until <see cref="KavachPolarOptions.ReadCacheExpiry"/> meanwhile). Default 100. Key
    /// <c>KavachPolar:Health:AnnouncementsWaiting</c>.
    /// </summary>
    public int AnnouncementsWaiting { get; set; } = 100;

    /// <summary>
    /// When set, a warning (log event 3009) once no verified webhook delivery has arrived for this long while
    /// subscriptions are live: Polar disabled the endpoint, its URL or secret changed, or the app is unreachable. Pick
    /// more than the quietest stretch your traffic has (renewals alone bring one event per subscription per period).
    /// Default none (off). Key <c>KavachPolar:Health:WebhookSilence</c>, e.g. <c>1.00:00:00</c>.
    /// </summary>
    public TimeSpan? WebhookSilence { get; set; }

    /// <summary>
    /// Degraded once this many usage events were refused by Polar's validation and wait, quarantined, for a replay
    /// (<see cref="IKavachPolarUsage.ReplayQuarantinedAsync"/>). Default 1. Key <c>KavachPolar:Health:QuarantinedUsageEvents</c>.
    /// </summary>
    public int QuarantinedUsageEvents { get; set; } = 1;

    /// <summary>
    /// Degraded once the oldest usage event not yet accepted by Polar was recorded longer ago than this: Polar keeps
    /// failing or asking to wait, the token lacks <c>events:write</c>, or no instance runs. Default 15 minutes. Key
    /// <c>KavachPolar:Health:UsageBacklogAge</c>.
    /// </summary>
    public TimeSpan UsageBacklogAge { get; set; } = TimeSpan.FromMinutes(15);
}
