using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    /// <summary>
    /// Polar's <c>DUNNING_RETRY_INTERVALS</c>: after a renewal charge fails, the payment is retried 2, 5, 7 and 7 days
    /// apart (2, 7, 14 and 21 days after the failure); when the last retry fails too, the subscription is revoked
    /// (https://github.com/polarsource/polar/blob/main/server/polar/config.py, <c>order/service.py</c>).
    /// </summary>
    private static readonly TimeSpan[] DunningRetryIntervals = [TimeSpan.FromDays(2), TimeSpan.FromDays(5), TimeSpan.FromDays(7), TimeSpan.FromDays(7)];

    /// <summary>
    /// Moves the business clock forward and plays, in time order and each at its own instant, everything
    /// that falls due: renewals (<c>subscription.cycled</c>, with a failing charge <c>past_due</c>), trial conversions,
    /// scheduled cancellations (revoked), scheduled pauses and resumptions, dunning retries (revoked when exhausted)
    /// and checkout expiry.
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
            else if (s.Status == "past_due" && s.DunningOrderId is { } orderId && _orders[orderId].NextPaymentAttemptAt is { } retryAt)
            {
                Consider(retryAt, () => RetryDunningPayment(s));
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

        ConsiderMeterJobs(Consider);

        return next;
    }

    private void EndPeriod(SubscriptionRecord s)
    {
        var now = Now;
        if (s.CancelAtPeriodEnd)
        {
            // ends_at keeps the scheduled value and the period is not advanced; canceled is sent again (Polar's subscription service).
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

        // Renewal and trial conversion: the period advances first (cycled, then updated, never active), then the
        // cycle order is created and charged. Polar's subscription service cycle and order service.
        EmitSubscription(s, "subscription.cycled", "subscription.updated");

        // A scheduled plan change that took effect revokes the old product's benefits and grants the new ones.
        SyncBenefitGrants(s);
        var order = CreateOrder(s, "subscription_cycle", s.Amount, null, "pending", now);
        if (s.PaymentDeclines && order.Subtotal > 0)
        {
            // The charge failed: the first dunning attempt marks the subscription past due (updated + past_due).
            s.Status = "past_due";
            s.PastDueAt ??= now;
            s.DunningOrderId = order.Id;
            s.FailedPayments = 1;
            order.NextPaymentAttemptAt = now + DunningRetryIntervals[0];
            EmitSubscriptionEvents(s, "subscription.past_due");
            return;
        }

        MarkOrderPaid(order);

        // The renewal order is paid (billing reason subscription_cycle or subscription_cycle_after_trial): every
        // granted grant of the subscription is cycled.
        CycleBenefitGrants(s);
        EmitStateChanged(_customers[s.CustomerId]);
    }

    /// <summary>
    /// A scheduled dunning retry. While the payment method declines, each failure schedules the next retry
    /// (<c>DUNNING_RETRY_INTERVALS[failed - 1]</c>) and, once they are exhausted, revokes the subscription
    /// (updated, canceled, revoked); otherwise the order is paid and the subscription is active again.
    /// </summary>
    private void RetryDunningPayment(SubscriptionRecord s)
    {
        var order = _orders[s.DunningOrderId!];
        if (!s.PaymentDeclines)
        {
            RecoverPastDue(s);
            return;
        }

        var now = Now;
        s.FailedPayments++;
        if (s.FailedPayments <= DunningRetryIntervals.Length)
        {
            order.NextPaymentAttemptAt = now + DunningRetryIntervals[s.FailedPayments - 1];

            // Each dunning attempt checks the benefit revocation grace period again; the revoke lands here once it is over.
            if (SyncBenefitGrants(s))
            {
                EmitStateChanged(_customers[s.CustomerId]);
            }

            return;
        }

        s.Status = "canceled";
        s.CanceledAt ??= now;
        s.EndsAt ??= now;
        s.EndedAt = now;
        s.ModifiedAt = now;
        EmitSubscriptionEvents(s, "subscription.canceled", "subscription.revoked");
        VoidDunningOrder(s);
    }

    /// <summary>
    /// A revoked subscription's pending order can no longer be collected: Polar voids it (status <c>void</c>, no next
    /// attempt) and sends <c>order.updated</c>.
    /// </summary>
    private void VoidDunningOrder(SubscriptionRecord s)
    {
        if (s.DunningOrderId is not { } orderId)
        {
            return;
        }

        s.DunningOrderId = null;
        var order = _orders[orderId];
        order.Status = "void";
        order.NextPaymentAttemptAt = null;
        order.ModifiedAt = Now;
        Emit("order.updated", Models.Order(order));
    }

    /// <summary>
    /// A dunning payment went through: the subscription becomes active again (updated + active), then the order is
    /// paid (<c>order.updated</c>, <c>order.paid</c>), as Polar's order service <c>handle_payment</c> does.
    /// </summary>
    private void RecoverPastDue(SubscriptionRecord s)
    {
        var now = Now;
        s.Status = "active";
        s.PastDueAt = null;
        s.FailedPayments = 0;
        s.ModifiedAt = now;
        EmitSubscription(s, "subscription.updated", "subscription.active");
        if (s.DunningOrderId is { } orderId)
        {
            s.DunningOrderId = null;
            MarkOrderPaid(_orders[orderId]);
        }

        // mark_active grants again: the revoked grants are reused (benefit_grant.created, same ids).
        SyncBenefitGrants(s);
        EmitStateChanged(_customers[s.CustomerId]);
    }

    /// <summary>The charge went through: <c>order.updated</c> and <c>order.paid</c>.</summary>
    private void MarkOrderPaid(OrderRecord order)
    {
        order.Status = "paid";
        order.HasPayment = order.Subtotal > 0;
        order.NextPaymentAttemptAt = null;
        order.ModifiedAt = Now;
        Emit("order.updated", Models.Order(order));
        Emit("order.paid", Models.Order(order));
    }

    private void Expire(CheckoutRecord ch)
    {
        ch.Status = "expired";
        ch.ModifiedAt = Now;
        Emit("checkout.expired", Models.Checkout(ch));
    }
}
