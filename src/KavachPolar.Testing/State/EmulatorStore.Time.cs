using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    /// <summary>The last dunning retry: a past-due subscription is revoked this long after it became past due (REFERENCE §3.2).</summary>
    private static readonly TimeSpan DunningPeriod = TimeSpan.FromDays(21);

    /// <summary>
    /// Moves the business clock forward and plays, in time order and each at its own instant, everything
    /// that falls due: renewals (<c>subscription.cycled</c>), trial conversions, scheduled cancellations
    /// (revoked), scheduled pauses and resumptions, exhausted dunning (revoked) and checkout expiry.
    /// </summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        lock (_lock)
        {
            var target = _clock.UtcNow + by;
            try
            {
                while (NextDue(target) is { } due)
                {
                    _nowOverride = due.At;
                    due.Run();
                }
            }
            finally
            {
                _nowOverride = null;
                _clock.Advance(by);
            }
        }
    }

    private (DateTimeOffset At, Action Run)? NextDue(DateTimeOffset target)
    {
        (DateTimeOffset At, Action Run)? next = null;
        void Consider(DateTimeOffset at, Action run)
        {
            if (at <= target && (next is null || at < next.Value.At))
            {
                next = (at, run);
            }
        }

        foreach (var s in _subscriptions.Values.OrderBy(s => s.CreatedAt))
        {
            if (s.IsActive)
            {
                Consider(s.CurrentPeriodEnd, () => EndPeriod(s));
            }
            else if (s.Status == "past_due" && s.PastDueAt is { } pastDueAt)
            {
                Consider(pastDueAt + DunningPeriod, () => RevokeAfterDunning(s));
            }
            else if (s.Status == "paused" && s.ResumesAt is { } resumesAt)
            {
                Consider(resumesAt, () => Resume(s));
            }
        }

        foreach (var ch in _checkouts.Values.Where(c => c.Status == "open").OrderBy(c => c.CreatedAt))
        {
            Consider(ch.ExpiresAt, () => Expire(ch));
        }

        return next;
    }

    private void EndPeriod(SubscriptionRecord s)
    {
        var now = Now;
        if (s.CancelAtPeriodEnd)
        {
            // REFERENCE §3.2: ends_at keeps the scheduled value and the period is not advanced; §4.7: canceled is sent again.
            s.Status = "canceled";
            s.EndedAt = now;
            s.ModifiedAt = now;
            EmitSubscriptionEvents(s, "subscription.canceled", "subscription.revoked");
            return;
        }

        if (s.PauseAtPeriodEnd)
        {
            s.Status = "paused";
            s.PausedAt = now;
            s.PauseAtPeriodEnd = false;
            s.ModifiedAt = now;
            EmitSubscriptionEvents(s, "subscription.paused");
            return;
        }

        var trialConversion = s.Status == "trialing";
        ApplyPendingUpdate(s);
        s.CurrentPeriodStart = s.CurrentPeriodEnd;
        s.CurrentPeriodEnd = AddInterval(s.CurrentPeriodStart, s.RecurringInterval, s.RecurringIntervalCount);
        if (trialConversion)
        {
            s.Status = "active";
        }

        s.ModifiedAt = now;

        // Renewal and trial conversion: cycled, then updated, never active (REFERENCE §4.7).
        var data = Models.Subscription(s);
        Emit("subscription.cycled", (JsonObject)data.DeepClone());
        Emit("subscription.updated", data);
        EmitPaidOrder(s, "subscription_cycle", now);
        EmitStateChanged(_customers[s.CustomerId]);
    }

    private void RevokeAfterDunning(SubscriptionRecord s)
    {
        var now = Now;
        s.Status = "canceled";
        s.CanceledAt ??= now;
        s.EndsAt ??= now;
        s.EndedAt = now;
        s.ModifiedAt = now;
        EmitSubscriptionEvents(s, "subscription.canceled", "subscription.revoked");
    }

    private void Expire(CheckoutRecord ch)
    {
        ch.Status = "expired";
        ch.ModifiedAt = Now;
        Emit("checkout.expired", Models.Checkout(ch));
    }
}
