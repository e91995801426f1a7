using System.Text.Json.Serialization;

namespace KavachPolar;

/// <summary>
/// A user's current subscription as KavachPolar stores it and as <c>GET {base}/auth/polar/subscription</c> returns it.
/// A plain record with <see langword="init"/> properties: fields added later are optional properties, so code that
/// creates or reads one keeps compiling.
/// </summary>
public sealed record KavachSubscription
{
    /// <summary>Polar's subscription id.</summary>
    public required string Id { get; init; }

    /// <summary>Polar's status string: <c>active</c>, <c>trialing</c>, <c>past_due</c>, <c>incomplete</c> or <c>paused</c> while live.</summary>
    public required string Status { get; init; }

    /// <summary>Polar's product id.</summary>
    public required string ProductId { get; init; }

    /// <summary>End of the current billing period, UTC, or <see langword="null"/> when Polar gives none.</summary>
    public DateTimeOffset? CurrentPeriodEnd { get; init; }

    /// <summary><see langword="true"/> when the subscription is scheduled to end at <see cref="CurrentPeriodEnd"/>.</summary>
    public bool CancelAtPeriodEnd { get; init; }

    /// <summary>
    /// The plan change Polar will apply at the end of the period (<c>next_period</c>), or <see langword="null"/> when none
    /// is scheduled. Scheduling or clearing one is a change of the subscription.
    /// </summary>
    public KavachScheduledChange? ScheduledChange { get; init; }

    /// <summary>
    /// <see langword="true"/> when the status entitles the user to the product
    /// (<c>active</c> or <c>trialing</c>), including a subscription scheduled to cancel.
    /// </summary>
    [JsonIgnore]
    public bool IsEntitled => SubscriptionStatuses.IsEntitled(Status);
}
