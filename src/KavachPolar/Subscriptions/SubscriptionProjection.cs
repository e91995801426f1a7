using KavachPolar.Storage;

namespace KavachPolar.Subscriptions;

/// <summary>
/// Derives a user's current subscription from all of that user's subscriptions, and writes it to
/// the <c>kavach_users</c> columns.
/// </summary>
internal static class SubscriptionProjection
{
    /// <summary>
    /// The subscription GET returns: an entitled one before other live ones, the most recently created
    /// among equals; <see langword="null"/> when none is live.
    /// </summary>
    public static SubscriptionRecord? SelectCurrent(IEnumerable<SubscriptionRecord> subscriptions) =>
        subscriptions
            .Where(s => SubscriptionStatuses.IsLive(s.Status))
            .OrderBy(s => SubscriptionStatuses.IsEntitled(s.Status) ? 0 : 1)
            .ThenByDescending(s => s.CreatedAtUs)
            .ThenBy(s => s.Id, StringComparer.Ordinal)
            .FirstOrDefault();

    /// <summary>What <c>kavach_users</c> says the user's current subscription is.</summary>
    public static KavachSubscription? Read(KavachUser user) =>
        user.PolarSubscriptionId is null
            ? null
            : new KavachSubscription
            {
                Id = user.PolarSubscriptionId,
                Status = user.PolarSubscriptionStatus ?? "",
                ProductId = user.PolarProductId ?? "",
                CurrentPeriodEnd = user.PolarCurrentPeriodEnd,
                CancelAtPeriodEnd = user.PolarCancelAtPeriodEnd,
                ScheduledChange = ScheduledChange(user.PolarScheduledProductId, user.PolarScheduledChangeAt),
            };

    /// <summary>The scheduled plan change stored as a product id and a time, or <see langword="null"/> without both.</summary>
    public static KavachScheduledChange? ScheduledChange(string? productId, DateTimeOffset? appliesAt) =>
        productId is null || appliesAt is not { } at ? null : new KavachScheduledChange { ProductId = productId, AppliesAt = at };

    /// <summary>
    /// Writes the current subscription to the user's columns. With none live, the columns are
    /// cleared as KavachOS clears them on revoke, keeping the status the last subscription ended with.
    /// </summary>
    /// <remarks><c>updated_at</c> is set to <paramref name="now"/> only when a column changed.</remarks>
    public static void Write(KavachUser user, IReadOnlyCollection<SubscriptionRecord> subscriptions, DateTimeOffset now)
    {
        var before = (Read(user), user.PolarSubscriptionStatus);
        var current = SelectCurrent(subscriptions);
        if (current is not null)
        {
            user.PolarSubscriptionId = current.Id;
            user.PolarSubscriptionStatus = current.Status;
            user.PolarProductId = current.ProductId;
            user.PolarCurrentPeriodEnd = current.CurrentPeriodEnd;
            user.PolarCancelAtPeriodEnd = current.CancelAtPeriodEnd;
            user.PolarScheduledProductId = current.ScheduledProductId;
            user.PolarScheduledChangeAt = current.ScheduledChangeAt;
        }
        else
        {
            user.PolarSubscriptionId = null;
            user.PolarProductId = null;
            user.PolarCurrentPeriodEnd = null;
            user.PolarCancelAtPeriodEnd = false;
            user.PolarScheduledProductId = null;
            user.PolarScheduledChangeAt = null;
            var last = subscriptions.OrderByDescending(s => s.VersionUs).ThenByDescending(s => s.SourceTimestampUs).ThenBy(s => s.Id, StringComparer.Ordinal).FirstOrDefault();
            if (last is not null)
            {
                user.PolarSubscriptionStatus = last.Status;
            }
        }

        if (before != (Read(user), user.PolarSubscriptionStatus))
        {
            user.UpdatedAt = now;
        }
    }
}
