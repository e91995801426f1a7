using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    private const string AlreadyCanceled = "This subscription is already canceled or will be at the end of the period.";

    /// <summary><c>GET /v1/subscriptions/</c>: only started subscriptions, default sort <c>-started_at</c>.</summary>
    public (JsonArray Items, int Total) ListSubscriptions(SubscriptionQuery q)
    {
        lock (_lock)
        {
            IEnumerable<SubscriptionRecord> rows = _subscriptions.Values.Where(s => s.StartedAt is not null);
            if (q.OrganizationIds.Count > 0 && !q.OrganizationIds.Contains(OrganizationId))
            {
                rows = [];
            }

            if (q.CustomerIds.Count > 0)
            {
                rows = rows.Where(s => q.CustomerIds.Contains(s.CustomerId));
            }

            if (q.ExternalCustomerIds.Count > 0)
            {
                rows = rows.Where(s => _customers[s.CustomerId].ExternalId is { } e && q.ExternalCustomerIds.Contains(e));
            }

            if (q.ProductIds.Count > 0)
            {
                rows = rows.Where(s => q.ProductIds.Contains(s.ProductId));
            }

            if (q.Statuses.Count > 0)
            {
                rows = rows.Where(s => q.Statuses.Contains(s.Status));
            }

            if (q.Active is { } active)
            {
                rows = rows.Where(s => active ? s.IsActive : s.IsRevoked);
            }

            if (q.CancelAtPeriodEnd is { } cape)
            {
                rows = rows.Where(s => s.CancelAtPeriodEnd == cape);
            }

            foreach (var group in q.Metadata.GroupBy(m => m.Key, StringComparer.Ordinal))
            {
                var values = group.Select(g => g.Value).ToList();
                rows = rows.Where(s => s.Metadata[group.Key] is JsonValue v && values.Contains(v.ToString()));
            }

            var list = rows.ToList();
            list.Sort((a, b) =>
            {
                foreach (var key in q.Sorting)
                {
                    var desc = key.StartsWith('-');
                    var c = CompareBy(desc ? key[1..] : key, a, b);
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return string.CompareOrdinal(a.Id, b.Id);
            });
            return (Pagination.Items(list, q.Page, q.Limit, Models.Subscription), list.Count);
        }
    }

    private int CompareBy(string key, SubscriptionRecord a, SubscriptionRecord b) => key switch
    {
        "started_at" => Nullable.Compare(a.StartedAt, b.StartedAt),
        "current_period_end" => a.CurrentPeriodEnd.CompareTo(b.CurrentPeriodEnd),
        "ended_at" => Nullable.Compare(a.EndedAt, b.EndedAt),
        "ends_at" => Nullable.Compare(a.EndsAt, b.EndsAt),
        "amount" => a.Amount.CompareTo(b.Amount),
        "status" => string.CompareOrdinal(a.Status, b.Status),
        "customer" => string.Compare(_customers[a.CustomerId].Email, _customers[b.CustomerId].Email, StringComparison.OrdinalIgnoreCase),
        "product" => string.CompareOrdinal(Product(a.ProductId).Name, Product(b.ProductId).Name),
        _ => 0,
    };

    public JsonObject GetSubscription(string id)
    {
        lock (_lock)
        {
            return Models.Subscription(RequireSubscription(id));
        }
    }

    private SubscriptionRecord RequireSubscription(string id) =>
        _subscriptions.TryGetValue(id, out var s) ? s : throw PolarApiException.NotFound();

    /// <summary><c>PATCH /v1/subscriptions/{id}</c> for a validated variant.</summary>
    public JsonObject UpdateSubscription(string id, SubscriptionUpdate update)
    {
        lock (_lock)
        {
            var s = RequireSubscription(id);
            switch (update.Variant)
            {
                case "SubscriptionCancel" when update.CancelAtPeriodEnd:
                    CancelAtPeriodEnd(s, update.Reason, update.Comment);
                    break;
                case "SubscriptionCancel":
                    Uncancel(s);
                    break;
                case "SubscriptionRevoke":
                    RevokeNow(s, update.Reason, update.Comment);
                    break;
                case "SubscriptionUpdateBase":
                    ChangeProductOrMetadata(s, update);
                    break;
                case "SubscriptionPause":
                    SchedulePause(s, update.PauseAtPeriodEnd, update.ResumesAt);
                    break;
                case "SubscriptionResume":
                    Resume(s);
                    break;
                case "SubscriptionUpdateClear":
                    ClearPendingUpdate(s);
                    break;
                default:
                    throw PolarApiException.Polar(403, "NotPermitted", $"The emulator does not implement {update.Variant}.");
            }

            return Models.Subscription(s);
        }
    }

    /// <summary><c>DELETE /v1/subscriptions/{id}</c>: revoke now.</summary>
    public JsonObject RevokeSubscription(string id)
    {
        lock (_lock)
        {
            var s = RequireSubscription(id);
            RevokeNow(s, null, null);
            return Models.Subscription(s);
        }
    }

    /// <summary>Cancels at period end (<c>atPeriodEnd</c>) or revokes now, as the C# control API does.</summary>
    public void Cancel(string id, bool atPeriodEnd)
    {
        lock (_lock)
        {
            var s = RequireSubscription(id);
            if (atPeriodEnd)
            {
                CancelAtPeriodEnd(s, null, null);
            }
            else
            {
                RevokeNow(s, null, null);
            }
        }
    }

    public void Uncancel(string id)
    {
        lock (_lock)
        {
            Uncancel(RequireSubscription(id));
        }
    }

    /// <summary>Makes the subscription's charges decline (renewals and dunning retries), or go through again.</summary>
    public void DeclinePayments(string id, bool decline)
    {
        lock (_lock)
        {
            RequireSubscription(id).PaymentDeclines = decline;
        }
    }

    /// <summary>
    /// Declines the subscription's charges and moves the business clock to its period end, where the renewal fails:
    /// the period advances, the cycle order is created, and the subscription becomes <c>past_due</c>.
    /// </summary>
    public void FailRenewal(string id)
    {
        lock (_lock)
        {
            var s = RequireSubscription(id);
            if (!s.IsActive)
            {
                throw PolarApiException.Polar(403, "InactiveSubscription", "This subscription is not active.");
            }

            if (s.CancelAtPeriodEnd || s.PauseAtPeriodEnd || s.Amount == 0)
            {
                throw PolarApiException.Polar(403, "NotPermitted", "This subscription is not charged at the end of its period.");
            }

            s.PaymentDeclines = true;
            var by = s.CurrentPeriodEnd - Now;
            Advance(by > TimeSpan.Zero ? by : TimeSpan.Zero);
        }
    }

    /// <summary>
    /// The customer's payment method works again and the pending renewal is retried now, as Polar does when a
    /// customer saves a new default payment method: <c>past_due</c> back to <c>active</c>, the order paid.
    /// </summary>
    public void RecoverPayment(string id)
    {
        lock (_lock)
        {
            var s = RequireSubscription(id);
            if (s.Status != "past_due")
            {
                throw PolarApiException.Polar(403, "NotPermitted", "This subscription is not past due.");
            }

            s.PaymentDeclines = false;
            RecoverPastDue(s);
        }
    }

    private void CancelAtPeriodEnd(SubscriptionRecord s, string? reason, string? comment)
    {
        if (!s.IsBillable || s.EndedAt is not null || s.CancelAtPeriodEnd || s.CanceledAt is not null)
        {
            throw PolarApiException.Polar(403, "AlreadyCanceledSubscription", AlreadyCanceled);
        }

        var now = Now;
        s.CanceledAt = now;
        s.CancelAtPeriodEnd = true;
        s.EndsAt = s.CurrentPeriodEnd;
        s.CancellationReason = reason;
        s.CancellationComment = comment;
        s.ModifiedAt = now;
        EmitSubscriptionEvents(s, "subscription.canceled");
    }

    /// <summary>
    /// Polar's subscription service <c>uncancel</c>: 410 <c>ResourceUnavailable</c> once the subscription has ended, 400
    /// <c>BadRequest</c> unless a cancellation is scheduled on a billable subscription (<c>can_uncancel</c>). SDK 1.0.1
    /// declares a 409 <c>SubscriptionNotScheduledToCancel</c> for the second case, but the server raises
    /// <c>BadRequest</c>: https://github.com/polarsource/polar/blob/main/server/polar/subscription/service.py.
    /// </summary>
    private void Uncancel(SubscriptionRecord s)
    {
        if (s.EndedAt is not null)
        {
            throw PolarApiException.Polar(410, "ResourceUnavailable", "Unavailable");
        }

        if (!s.CancelAtPeriodEnd || !s.IsBillable)
        {
            throw PolarApiException.Polar(400, "BadRequest", "Bad request");
        }

        s.CancelAtPeriodEnd = false;
        s.EndsAt = null;
        s.CanceledAt = null;
        s.CancellationReason = null;
        s.CancellationComment = null;
        s.ModifiedAt = Now;
        EmitSubscriptionEvents(s, "subscription.uncanceled");
    }

    private void RevokeNow(SubscriptionRecord s, string? reason, string? comment)
    {
        if (s.IsRevoked || s.EndedAt is not null)
        {
            throw PolarApiException.Polar(403, "AlreadyCanceledSubscription", AlreadyCanceled);
        }

        var now = Now;
        s.Status = "canceled";
        s.CanceledAt = now;
        s.EndsAt = now;
        s.EndedAt = now;
        s.CancellationReason = reason ?? s.CancellationReason;
        s.CancellationComment = comment ?? s.CancellationComment;
        s.ModifiedAt = now;
        EmitSubscriptionEvents(s, "subscription.canceled", "subscription.revoked");
        VoidDunningOrder(s);
    }

    private static void SwitchProduct(SubscriptionRecord s, ProductRecord p)
    {
        s.ProductId = p.Id;
        s.Amount = p.PriceAmount;
        s.RecurringInterval = p.RecurringInterval!;
        s.RecurringIntervalCount = p.RecurringIntervalCount ?? 1;
    }

    /// <summary>At renewal: a pending <c>next_period</c> product change takes effect.</summary>
    private void ApplyPendingUpdate(SubscriptionRecord s)
    {
        if (s.PendingUpdate is { } pending)
        {
            SwitchProduct(s, Product(pending.ProductId));
            s.PendingUpdate = null;
        }
    }

    /// <summary>
    /// Polar's <c>clear_pending_update</c>: a 422 <c>PolarRequestValidationError</c> at <c>body.pending_update</c> when
    /// nothing is pending (no other state is checked), else the pending update is dropped and
    /// <c>subscription.updated</c> is sent.
    /// </summary>
    private void ClearPendingUpdate(SubscriptionRecord s)
    {
        if (s.PendingUpdate is null)
        {
            throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "pending_update"), "This subscription has no pending update to clear.", null);
        }

        s.PendingUpdate = null;
        s.ModifiedAt = Now;
        EmitSubscriptionEvents(s);
    }

    private void ChangeProductOrMetadata(SubscriptionRecord s, SubscriptionUpdate update)
    {
        OrderRecord? toCharge = null;
        if (update.ProductId is { } productId)
        {
            var p = FindProduct(productId) ?? throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "product_id"), "Product does not exist.", JsonValue.Create(productId));
            if (!p.IsRecurring)
            {
                throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "product_id"), "Product is not recurring.", JsonValue.Create(productId));
            }

            if (s.EndedAt is not null || s.IsRevoked || s.CancelAtPeriodEnd)
            {
                // A canceled subscription, or one scheduled to cancel, cannot change product: uncancel it first.
                throw PolarApiException.Polar(403, "AlreadyCanceledSubscription", "This subscription is already canceled or will be at the end of the period.");
            }

            if (!s.IsActive)
            {
                throw PolarApiException.Polar(403, "InactiveSubscription", "This subscription is not active.");
            }

            if (update.ProrationBehavior == "next_period")
            {
                // The current product runs to the end of the period; the change waits in pending_update.
                s.PendingUpdate = new PendingUpdateRecord(Ids.NewUuid(), Now, s.CurrentPeriodEnd, p.Id);
            }
            else
            {
                // invoice (the default) and prorate switch now. invoice bills the prorations at once in a
                // subscription_update order, sent before subscription.updated (the update context creates it on exit,
                // before _after_subscription_updated); prorate leaves them for the next renewal, which the emulator
                // does not bill. A trialing subscription is not billed for the change.
                s.PendingUpdate = null;
                var from = Product(s.ProductId);
                var trialing = s.Status == "trialing";
                SwitchProduct(s, p);
                if (update.ProrationBehavior is null or "invoice" && !trialing && from.Id != p.Id)
                {
                    toCharge = CreateUpdateOrder(s, from, p, Now);
                }
            }
        }

        if (update.Metadata is not null)
        {
            s.Metadata = update.Metadata;
        }

        s.ModifiedAt = Now;
        EmitSubscriptionEvents(s);
        if (toCharge is not null)
        {
            // The charge goes through (sync payment); Stripe's webhook then marks the order paid.
            MarkOrderPaid(toCharge);
        }
    }

    /// <summary>
    /// <c>subscription.updated</c> first, then the specific events, then the grant changes the new state calls for
    /// (<c>enqueue_benefits_grants</c>), then <c>customer.state_changed</c>.
    /// </summary>
    private void EmitSubscriptionEvents(SubscriptionRecord s, params string[] specific)
    {
        EmitSubscription(s, ["subscription.updated", .. specific]);
        SyncBenefitGrants(s);
        EmitStateChanged(_customers[s.CustomerId]);
    }

    /// <summary>Sends the subscription as it is now once per event type, in the order given (the same data each time).</summary>
    private void EmitSubscription(SubscriptionRecord s, params string[] types)
    {
        var data = Models.Subscription(s);
        foreach (var type in types)
        {
            Emit(type, (JsonObject)data.DeepClone());
        }
    }

    /// <summary>
    /// Scheduling or unscheduling a pause sends only <c>subscription.updated</c>; the pause itself happens at period
    /// end.
    /// </summary>
    private void SchedulePause(SubscriptionRecord s, bool pause, DateTimeOffset? resumesAt)
    {
        if (!s.IsActive || s.CancelAtPeriodEnd)
        {
            throw PolarApiException.Polar(403, "InactiveSubscription", "This subscription is not active.");
        }

        s.PauseAtPeriodEnd = pause;
        s.ResumesAt = pause ? resumesAt : null;
        s.ModifiedAt = Now;
        EmitSubscriptionEvents(s);
    }

    /// <summary>Resuming a paused subscription starts a new period and bills it: updated, resumed, then the order.</summary>
    private void Resume(SubscriptionRecord s)
    {
        if (s.Status != "paused")
        {
            throw PolarApiException.Polar(403, "NotPermitted", "This subscription is not paused.");
        }

        var now = Now;
        s.Status = "active";
        s.PausedAt = null;
        s.ResumesAt = null;
        s.CurrentPeriodStart = now;
        s.CurrentPeriodEnd = AddInterval(now, s.RecurringInterval, s.RecurringIntervalCount);
        s.ModifiedAt = now;
        EmitSubscription(s, "subscription.updated", "subscription.resumed");
        MarkOrderPaid(CreateOrder(s, "subscription_cycle", s.Amount, null, "pending", now));
        SyncBenefitGrants(s);
        EmitStateChanged(_customers[s.CustomerId]);
    }
}
