using KavachPolar.Sample.Data;

namespace KavachPolar.Sample.Billing;

/// <summary>
/// What one recorded <c>OnSubscriptionChange</c> changed, in words for the account page: the status when it moved
/// (<c>none → active (Pro)</c>), the plan when the product changed (<c>Pro → Team</c>), and a cancellation being
/// scheduled or lifted, and a plan change scheduled for the next period or dropped.
/// </summary>
public static class ChangeDescription
{
    /// <param name="change">The recorded change.</param>
    /// <param name="productName">A product's name from its id (the id itself when unknown).</param>
    public static string Describe(SubscriptionChangeEntry change, Func<string, string> productName)
    {
        var parts = new List<string>();
        if (change.PreviousStatus != change.CurrentStatus)
        {
            var status = $"{change.PreviousStatus ?? "none"} → {change.CurrentStatus ?? "none"}";
            parts.Add(change.PreviousProductId is null && change.CurrentProductId is { } started ? $"{status} ({productName(started)})" : status);
        }

        if (change.PreviousProductId is { } from && change.CurrentProductId is { } to && from != to)
        {
            parts.Add($"{productName(from)} → {productName(to)}");
        }

        if (change.PreviousStatus is not null && change.CurrentStatus is not null && change.PreviousCancelAtPeriodEnd != change.CancelAtPeriodEnd)
        {
            parts.Add(change.CancelAtPeriodEnd ? "cancellation scheduled" : "cancellation lifted");
        }

        if (change.ScheduledProductId != change.PreviousScheduledProductId)
        {
            if (change.ScheduledProductId is { } scheduled)
            {
                parts.Add($"change to {productName(scheduled)} scheduled");
            }
            else if (change.PreviousScheduledProductId is { } dropped && change.CurrentProductId != dropped)
            {
                // Applied at renewal, the product change above says it; otherwise it was dropped.
                parts.Add($"scheduled change to {productName(dropped)} dropped");
            }
        }

        return parts.Count == 0 ? "details updated" : string.Join(", ", parts);
    }
}
