using KavachPolar.Billing;
using KavachPolar.Polar;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// <see cref="IKavachPolarSubscriptions"/>: Polar's answers are applied through the same
/// <see cref="SubscriptionSynchronizer"/> as webhooks, behind the same version guard, so a reconcile
/// and a late webhook can arrive in any order.
/// </summary>
internal sealed class KavachPolarSubscriptionService(
    BillingStore billing,
    PolarApiClient api,
    Webhooks.WebhookProcessor processor,
    ReconcileCoalescer coalescer,
    SubscriptionReader reader,
    BenefitReconciler benefits,
    OrderReconciler orders,
    IOptionsMonitor<KavachPolarOptions> options) : IKavachPolarSubscriptions
{
    public const string ReconcileEventType = "reconcile";

    public async Task<KavachSubscription?> GetSubscriptionAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return (await reader.LoadAsync(userId, cancellationToken).ConfigureAwait(false)).Current;
    }

    public Task<bool> IsEntitledAsync(string userId, IReadOnlyCollection<string>? products = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return reader.IsEntitledAsync(userId, products, cancellationToken);
    }

    public async Task<KavachPolarResult> ChangePlanAsync(string userId, string productId, KavachProrationBehavior proration = KavachProrationBehavior.Invoice, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(productId);
        using var caller = PolarCaller.For(userId);
        // Bad input first, without the database: an unknown product is refused even while the database is down.
        var target = Products.Resolve(productId, options.CurrentValue);
        if (target is null)
        {
            return KavachPolarResult.Failure(KavachPolarErrorCodes.UnknownProduct, null);
        }

        var local = await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false);
        if (local is null)
        {
            return KavachPolarResult.Failure(KavachPolarErrorCodes.NoSubscription, null);
        }

        // Decided by Polar's state, not the local copy: the user may have changed plan elsewhere (portal, dashboard)
        // and its webhook may not have arrived.
        var read = await ReadFromPolarAsync(userId, local, cancellationToken).ConfigureAwait(false);
        if (read.Failure is { } readFailure)
        {
            return readFailure;
        }

        var (polar, current) = (read.Polar!, read.Current ?? local);
        var scheduled = SubscriptionSynchronizer.Scheduled(polar).ProductId;
        var runsOnTarget = string.Equals(polar.ProductId, target, StringComparison.OrdinalIgnoreCase);
        // Already on the product with nothing scheduled, or that product already scheduled for the next period.
        var nothingToAsk = runsOnTarget
            ? scheduled is null
            : proration == KavachProrationBehavior.NextPeriod && string.Equals(scheduled, target, StringComparison.OrdinalIgnoreCase);
        if (nothingToAsk)
        {
            return KavachPolarResult.Success(current, changed: read.Changed);
        }

        var behavior = proration switch
        {
            KavachProrationBehavior.Prorate => "prorate",
            KavachProrationBehavior.NextPeriod => "next_period",
            _ => "invoice",
        };

        // Back to the product it runs on while Polar holds a next_period change: Polar would still apply that change at
        // renewal, so drop it there ({"pending_update": null}).
        var result = runsOnTarget
            ? await api.ClearPendingUpdateAsync(polar.Id, cancellationToken).ConfigureAwait(false)
            : await api.ChangeProductAsync(polar.Id, target, behavior, cancellationToken).ConfigureAwait(false);
        return result.IsSuccess
            ? await ApplyAnswerAsync(userId, result.Value!, "subscription.updated", cancellationToken).ConfigureAwait(false)
            : Failure(current, result.Error!);
    }

    public async Task<KavachPortalSessionResult> CreatePortalSessionAsync(string userId, Uri? returnUrl = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        using var caller = PolarCaller.For(userId);
        var user = await FindUserAsync(userId, cancellationToken).ConfigureAwait(false);
        var customerId = user?.PolarCustomerId;
        if (customerId is null)
        {
            // Not bound yet (say, the customer was created in Polar's dashboard with this external id): look it up
            // by external id, a trusted source, and bind it; never by email.
            var found = await api.FindCustomerByExternalIdAsync(userId, cancellationToken).ConfigureAwait(false);
            if (!found.IsSuccess)
            {
                return PortalFailure(found.Error!);
            }

            if (found.Value is null || user is null)
            {
                return new KavachPortalSessionResult { Succeeded = false, ErrorCode = KavachPolarErrorCodes.NoCustomer };
            }

            customerId = found.Value.Id;
            await billing.BindCustomerAsync(userId, found.Value.Id, cancellationToken).ConfigureAwait(false);
        }

        var session = await api.CreateCustomerSessionAsync(customerId, returnUrl?.AbsoluteUri, cancellationToken).ConfigureAwait(false);
        if (!session.IsSuccess)
        {
            return PortalFailure(session.Error!);
        }

        return Uri.TryCreate(session.Value!.CustomerPortalUrl, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
            ? new KavachPortalSessionResult { Succeeded = true, Url = url }
            : new KavachPortalSessionResult { Succeeded = false, ErrorCode = KavachPolarErrorCodes.PolarUnexpectedResponse };
    }

    public Task<KavachPolarResult> CancelAtPeriodEndAsync(string userId, CancellationToken cancellationToken = default) =>
        SetCancelAsync(userId, true, cancellationToken);

    public Task<KavachPolarResult> ResumeAsync(string userId, CancellationToken cancellationToken = default) =>
        SetCancelAsync(userId, false, cancellationToken);

    private async Task<KavachPolarResult> SetCancelAsync(string userId, bool cancel, CancellationToken ct)
    {
        using var caller = PolarCaller.For(userId);
        var local = await GetSubscriptionAsync(userId, ct).ConfigureAwait(false);
        if (local is null)
        {
            return KavachPolarResult.Failure(KavachPolarErrorCodes.NoSubscription, null);
        }

        // Decided by Polar's state, not the local copy: the user may have canceled or resumed in Polar's portal, and
        // its webhook may not have arrived. Acting on a stale "already canceled" would let Polar renew and charge.
        var read = await ReadFromPolarAsync(userId, local, ct).ConfigureAwait(false);
        if (read.Failure is { } readFailure)
        {
            return readFailure;
        }

        var (polar, current) = (read.Polar!, read.Current ?? local);
        if (polar.CancelAtPeriodEnd == cancel || !SubscriptionStatuses.IsLive(polar.Status))
        {
            // Already scheduled to cancel, nothing scheduled to resume, or over: nothing to ask Polar to change.
            return KavachPolarResult.Success(current, changed: read.Changed);
        }

        var result = await api.SetCancelAtPeriodEndAsync(polar.Id, cancel, ct).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            // Resuming what Polar says is not scheduled to cancel: the server answers 400 BadRequest (its SDK types a
            // 409 SubscriptionNotScheduledToCancel), or 410 ResourceUnavailable once the subscription has ended. All
            // mean our copy was behind: re-read it instead of failing.
            if (!cancel && result.Error!.Kind is PolarErrorKind.Rejected or PolarErrorKind.Conflict && result.Error.StatusCode is 400 or 409 or 410)
            {
                // A run of its own: one already under way may have read Polar before this answer.
                await ReconcileUserOnceAsync(userId, ct).ConfigureAwait(false);
                return KavachPolarResult.Success(await GetSubscriptionAsync(userId, ct).ConfigureAwait(false));
            }

            return Failure(current, result.Error!);
        }

        return await ApplyAnswerAsync(userId, result.Value!, cancel ? "subscription.canceled" : "subscription.uncanceled", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies Polar's answer to a change this app asked for, like any snapshot (behind the same version guard), and
    /// answers with what is stored now.
    /// </summary>
    private async Task<KavachPolarResult> ApplyAnswerAsync(string userId, PolarSubscription answer, string eventType, CancellationToken ct)
    {
        await ApplyAsync([answer], "api:" + Guid.NewGuid().ToString("N"), eventType, ct).ConfigureAwait(false);
        return KavachPolarResult.Success(await GetSubscriptionAsync(userId, ct).ConfigureAwait(false), changed: true);
    }

    public Task<KavachPolarResult> ReconcileUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return coalescer.RunAsync(userId, () => ReconcileUserOnceAsync(userId, CancellationToken.None), cancellationToken);
    }

    private async Task<KavachPolarResult> ReconcileUserOnceAsync(string userId, CancellationToken cancellationToken)
    {
        // Joiners share this run, and its calls count once, against this user.
        using var caller = PolarCaller.For(userId);
        var user = await FindUserAsync(userId, cancellationToken).ConfigureAwait(false);
        var found = new Dictionary<string, PolarSubscription>(StringComparer.Ordinal);
        var filters = new List<(string Name, string Value)>
        {
            ("external_customer_id", userId),
            // Found through metadata, each snapshot is still attributed by its own metadata first, one by one.
            ("metadata[" + PolarMetadata.UserIdKey + "]", userId),
        };
        if (user?.PolarCustomerId is { } customerId)
        {
            // Bindings come only from trusted sources (a look-up or creation by external id, or an event whose
            // customer.external_id is this user), so the bound customer's subscriptions are this user's.
            filters.Add(("customer_id", customerId));
        }

        foreach (var (name, value) in filters)
        {
            var error = await ListAllAsync(name, value, s => found[s.Id] = s, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return Failure(user is null ? null : SubscriptionProjection.Read(user), error);
            }
        }

        await ApplyAsync(found.Values, NewReconcileId(), ReconcileEventType, cancellationToken).ConfigureAwait(false);

        // Grants of the user's customer (bound now, perhaps by what was just applied) and of the customers of the
        // subscriptions found; each grant is attributed by its own rules, so another person's grants stay theirs.
        var customers = found.Values.Select(s => s.CustomerId).ToList();
        if ((await FindUserAsync(userId, cancellationToken).ConfigureAwait(false))?.PolarCustomerId is { } bound)
        {
            customers.Insert(0, bound);
        }

        // Orders before grants: an order-scoped grant belongs to its order's user.
        if (await orders.ReconcileCustomersAsync(customers, cancellationToken).ConfigureAwait(false) is { } ordersError)
        {
            return Failure(await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false), ordersError);
        }

        if (await benefits.ReconcileCustomersAsync(customers, cancellationToken).ConfigureAwait(false) is { } grantsError)
        {
            return Failure(await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false), grantsError);
        }

        return KavachPolarResult.Success(await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false));
    }

    public async Task<KavachPolarResult> ReconcileCheckoutAsync(string userId, string checkoutId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(checkoutId);
        using var caller = PolarCaller.For(userId);
        var before = await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false);
        if (!Guid.TryParseExact(checkoutId, "D", out _))
        {
            return KavachPolarResult.Failure(KavachPolarErrorCodes.NotFound, before);
        }

        var checkout = await api.GetCheckoutAsync(checkoutId, cancellationToken).ConfigureAwait(false);
        if (!checkout.IsSuccess)
        {
            return checkout.Error!.Kind == PolarErrorKind.NotFound
                ? KavachPolarResult.Failure(KavachPolarErrorCodes.NotFound, before)
                : Failure(before, checkout.Error);
        }

        var c = checkout.Value!;
        var user = await FindUserAsync(userId, cancellationToken).ConfigureAwait(false);
        var belongsToUser = PolarMetadata.UserId(c.Metadata) == userId
                            || c.ExternalCustomerId == userId
                            || (c.CustomerId is not null && c.CustomerId == user?.PolarCustomerId);
        if (!belongsToUser)
        {
            // Same answer as a missing checkout: never reveal another user's checkout.
            return KavachPolarResult.Failure(KavachPolarErrorCodes.NotFound, before);
        }

        if (c.CustomerId is null)
        {
            return KavachPolarResult.Success(before);
        }

        // Only the subscription this checkout created: the customer's other subscriptions may be another person's
        // (Polar reuses customers by email), and each is attributed by its own metadata anyway.
        var found = new List<PolarSubscription>();
        var error = await ListAllAsync("customer_id", c.CustomerId, s => { if (s.CheckoutId == c.Id) { found.Add(s); } }, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return Failure(before, error);
        }

        await ApplyAsync(found, NewReconcileId(), ReconcileEventType, cancellationToken).ConfigureAwait(false);
        return KavachPolarResult.Success(await GetSubscriptionAsync(userId, cancellationToken).ConfigureAwait(false));
    }

    public async Task<bool> ForgetUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return (await billing.ForgetUserAsync(userId, cancellationToken).ConfigureAwait(false)).Removed;
    }

    public async Task<KavachReplaySummary> ReplayUnprocessableAsync(CancellationToken cancellationToken = default)
    {
        var replayed = 0;
        var still = 0;
        // Pages by webhook id, after the last one read: a row that stays unprocessable keeps its place, so paging by
        // anything it does not change would meet the same rows again. The version guard makes the order irrelevant.
        string? after = null;
        while (true)
        {
            var batch = await billing.UnprocessableDeliveriesAsync(after, 100, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return new KavachReplaySummary { Replayed = replayed, StillUnprocessable = still };
            }

            foreach (var e in batch)
            {
                var delivery = Webhooks.PolarWebhookEvent.Read(e.Id, System.Text.Encoding.UTF8.GetBytes(e.Payload));
                var outcome = await processor.ProcessAsync(delivery, options.CurrentValue.DatabaseTimeout, cancellationToken).ConfigureAwait(false);
                if (outcome == WebhookOutcomes.Unprocessable)
                {
                    still++;
                }
                else
                {
                    replayed++;
                }
            }

            after = batch[^1].Id;
        }
    }

    public async Task<KavachReconcileSummary> ReconcileAllAsync(CancellationToken cancellationToken = default)
    {
        var runId = NewReconcileId();
        var read = 0;
        var changes = 0;
        for (var page = 1; ; page++)
        {
            var result = await api.ListSubscriptionsAsync("", null, page, cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return new KavachReconcileSummary { SubscriptionsRead = read, Changes = changes, ErrorCode = ResultCodes.For(result.Error!) };
            }

            read += result.Value!.Items.Count;
            changes += await ApplyAsync(result.Value.Items, runId, ReconcileEventType, cancellationToken).ConfigureAwait(false);
            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                break;
            }
        }

        // Then every order of the organization (billing history, one-time purchases), after the subscriptions they name,
        // and the grants, after the subscriptions and orders they may be linked to.
        var (ordersRead, ordersError) = await orders.ReconcileAllAsync(cancellationToken).ConfigureAwait(false);
        var grants = ordersError is null ? await benefits.ReconcileAllAsync(cancellationToken).ConfigureAwait(false) : default;
        return new KavachReconcileSummary
        {
            SubscriptionsRead = read,
            Changes = changes,
            OrdersRead = ordersRead,
            BenefitGrantsRead = grants.Read,
            BenefitChanges = grants.Changes,
            ErrorCode = (ordersError ?? grants.Error) is { } error ? ResultCodes.For(error) : null,
        };
    }

    private async Task<PolarApiError?> ListAllAsync(string filter, string value, Action<PolarSubscription> add, CancellationToken ct)
    {
        for (var page = 1; ; page++)
        {
            var result = await api.ListSubscriptionsAsync(filter, value, page, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return result.Error;
            }

            foreach (var s in result.Value!.Items)
            {
                add(s);
            }

            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                return null;
            }
        }
    }

    /// <summary>Applies snapshots read from Polar (see <see cref="BillingStore.ApplySnapshotsAsync"/>).</summary>
    private Task<int> ApplyAsync(IEnumerable<PolarSubscription> subscriptions, string runId, string eventType, CancellationToken ct) =>
        billing.ApplySnapshotsAsync(subscriptions, runId, eventType, ct);

    /// <summary>
    /// Reads the subscription <paramref name="local"/> names from Polar and applies it like any snapshot (the version
    /// guard keeps a newer local state), so the caller decides from Polar's current state and answers what is stored.
    /// </summary>
    private async Task<PolarRead> ReadFromPolarAsync(string userId, KavachSubscription local, CancellationToken ct)
    {
        var read = await api.GetSubscriptionAsync(local.Id, ct).ConfigureAwait(false);
        if (!read.IsSuccess)
        {
            return new PolarRead(null, null, false, Failure(local, read.Error!));
        }

        var changes = await ApplyAsync([read.Value!], NewReconcileId(), ReconcileEventType, ct).ConfigureAwait(false);
        return new PolarRead(read.Value, await GetSubscriptionAsync(userId, ct).ConfigureAwait(false), changes > 0, null);
    }

    private sealed record PolarRead(PolarSubscription? Polar, KavachSubscription? Current, bool Changed, KavachPolarResult? Failure);

    private Task<KavachUser?> FindUserAsync(string userId, CancellationToken ct) => billing.FindUserAsync(userId, ct);

    private static KavachPortalSessionResult PortalFailure(PolarApiError error) => new()
    {
        Succeeded = false,
        ErrorCode = ResultCodes.For(error),
        RetryAfter = error.Kind == PolarErrorKind.RateLimited ? error.RetryAfter ?? TimeSpan.FromSeconds(30) : null,
    };

    private static string NewReconcileId() => "reconcile:" + Guid.NewGuid().ToString("N");

    private static KavachPolarResult Failure(KavachSubscription? current, PolarApiError error) =>
        KavachPolarResult.Failure(ResultCodes.For(error), current, error.Kind == PolarErrorKind.RateLimited ? error.RetryAfter ?? TimeSpan.FromSeconds(30) : null);
}
