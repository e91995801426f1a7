namespace KavachPolar;

/// <summary>Polar's subscription statuses and what they mean for access (Polar's SubscriptionStatus: https://docs.polar.sh/api-reference/subscriptions/get).</summary>
internal static class SubscriptionStatuses
{
    /// <summary>The entitled statuses, for queries: <c>active</c> and <c>trialing</c>.</summary>
    public static readonly string[] Entitled = ["active", "trialing"];

    /// <summary>Entitled: <c>active</c> or <c>trialing</c>, even when canceling at period end. The one definition of access.</summary>
    public static bool IsEntitled(string status) => Array.IndexOf(Entitled, status) >= 0;

    /// <summary>Live: not ended. A live subscription is shown to the user; an ended one is not.</summary>
    public static bool IsLive(string status) => status is "active" or "trialing" or "past_due" or "incomplete" or "paused";
}
