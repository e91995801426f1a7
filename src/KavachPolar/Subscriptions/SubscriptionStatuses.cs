namespace KavachPolar.Subscriptions;

/// <summary>Polar's subscription statuses and what they mean for access (REFERENCE.md §3.2).</summary>
internal static class SubscriptionStatuses
{
    /// <summary>Entitled: <c>active</c> or <c>trialing</c>, even when canceling at period end.</summary>
    public static bool IsEntitled(string status) => status is "active" or "trialing";

    /// <summary>Live: not ended. A live subscription is shown to the user; an ended one is not.</summary>
    public static bool IsLive(string status) => status is "active" or "trialing" or "past_due" or "incomplete" or "paused";
}
