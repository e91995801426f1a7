using System.Text.Json.Serialization;

namespace KavachPolar;

/// <summary>
/// A user's current subscription as KavachPolar stores it and as
/// <c>GET {base}/auth/polar/subscription</c> returns it.
/// </summary>
/// <param name="Id">Polar's subscription id.</param>
/// <param name="Status">Polar's status string: <c>active</c>, <c>trialing</c>, <c>past_due</c>, <c>incomplete</c> or <c>paused</c> while live.</param>
/// <param name="ProductId">Polar's product id.</param>
/// <param name="CurrentPeriodEnd">End of the current billing period, UTC, or <see langword="null"/> when Polar gives none.</param>
/// <param name="CancelAtPeriodEnd"><see langword="true"/> when the subscription is scheduled to end at <paramref name="CurrentPeriodEnd"/>.</param>
public sealed record KavachSubscription(
    string Id,
    string Status,
    string ProductId,
    DateTimeOffset? CurrentPeriodEnd,
    bool CancelAtPeriodEnd)
{
    /// <summary>
    /// <see langword="true"/> when the status entitles the user to the product
    /// (<c>active</c> or <c>trialing</c>), including a subscription scheduled to cancel.
    /// </summary>
    [JsonIgnore]
    public bool IsEntitled => Subscriptions.SubscriptionStatuses.IsEntitled(Status);
}
