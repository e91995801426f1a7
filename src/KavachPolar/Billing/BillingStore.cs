using KavachPolar.Callbacks;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Billing;

/// <summary>
/// The one place that writes the app's billing state (users, subscriptions, deliveries; grants, orders and usage
/// next). Each intent method is one unit of work under a time budget (<see cref="KavachStore"/>): it opens the
/// transaction (<see cref="StoreTransactions"/>), takes the Polar customer's lock before any user's, chooses the
/// webhook's SQL function (<see cref="WebhookFunction"/>) or the EF Core path, and after the commit forgets the users
/// it changed in every instance's read cache (<see cref="CacheAnnouncer"/>) and wakes the callback dispatcher
/// (<see cref="CallbackSignal"/>). A write that fails may have committed all the same (the connection lost while
/// committing, work given up at its budget that finishes later): it announces whom it may have changed before the
/// exception propagates. Callers never see a DbContext; the rules for a snapshot stay in
/// <see cref="SubscriptionSynchronizer"/>, which only this store calls.
/// </summary>
internal sealed partial class BillingStore(
    KavachStore store,
    SubscriptionSynchronizer synchronizer,
    Benefits.BenefitGrantSynchronizer grants,
    Orders.OrderSynchronizer orders,
    CallbackKinds kinds,
    CallbackSignal signal,
    CacheAnnouncer announcer,
    TimeProvider time,
    ILogger<BillingStore> logger,
    Usage.UsageSignal usageSignal,
    UsageCommitSignal usageCommits)
{
    /// <summary>Statuses Polar counts as "an active subscription" when it refuses a second one (organization default).</summary>
    private static readonly string[] BlockingStatuses = ["active", "trialing", "past_due"];

    /// <summary>What <see cref="EnsureUserAsync"/> found: the user's row, or that the id was forgotten.</summary>
    /// <param name="Row">The row, created or refreshed; <see langword="null"/> when <paramref name="Forgotten"/>.</param>
    /// <param name="HasLiveSubscription">The user has a subscription Polar would count against a new one.</param>
    /// <param name="Forgotten">The id was forgotten (<see cref="ForgetUserAsync"/>): nothing was written.</param>
    public readonly record struct EnsuredUser(KavachUser? Row, bool HasLiveSubscription, bool Forgotten);

    /// <summary>A delivery kept as unprocessable, with its raw text, for a replay.</summary>
    public readonly record struct UnprocessableDelivery(string Id, string Payload);

    // ---- Webhook deliveries -----------------------------------------------------------------------------------

    /// <summary>
    /// Records a delivery that changes nothing else (<see cref="WebhookOutcomes.Ignored"/>,
    /// <see cref="WebhookOutcomes.OtherOrganization"/>, <see cref="WebhookOutcomes.Unprocessable"/> with its raw text
    /// and why), waited for at most <paramref name="budget"/>. A redelivery answers <see cref="WebhookOutcomes.Duplicate"/>;
    /// one still unprocessable keeps its first record.
    /// </summary>
    public Task<string> RecordDeliveryAsync(string webhookId, string type, string outcome, string? payload, string? error, TimeSpan budget, CancellationToken ct) =>
        store.RunHotAsync(budget, (scope, t) => RecordOnlyAsync(scope, webhookId, type, outcome, payload, error, t), ct);

    /// <summary>
    /// Applies a <c>subscription.*</c> delivery and records it, waited for at most <paramref name="budget"/>: the
    /// common case in one command where the database has the function, else one transaction on the EF Core path.
    /// Answers <see cref="WebhookOutcomes.Applied"/>, <see cref="WebhookOutcomes.Stale"/>,
    /// <see cref="WebhookOutcomes.Forgotten"/> or <see cref="WebhookOutcomes.Duplicate"/>.
    /// </summary>
    public Task<string> ApplyDeliveryAsync(string webhookId, string type, PolarSubscription subscription, long timestampUs, TimeSpan budget, CancellationToken ct) =>
        store.RunHotAsync(budget, (scope, t) => ApplyDeliveryAsync(scope, webhookId, type, subscription, timestampUs, t), ct);

    /// <summary>Up to <paramref name="count"/> deliveries kept as unprocessable, by id after <paramref name="after"/>.</summary>
    public Task<List<UnprocessableDelivery>> UnprocessableDeliveriesAsync(string? after, int count, CancellationToken ct) =>
        store.RunAsync(
            (s, t) => s.Db.Set<WebhookEventRecord>().AsNoTracking()
                .Where(e => e.Outcome == WebhookOutcomes.Unprocessable && e.Payload != null)
#pragma warning disable CA1309 // Translated to SQL: "id > @cursor" compares by the column's collation, as ORDER BY does.
                .Where(e => after == null || string.Compare(e.Id, after) > 0)
#pragma warning restore CA1309
                .OrderBy(e => e.Id)
                .Select(e => new UnprocessableDelivery(e.Id, e.Payload!))
                .Take(count)
                .ToListAsync(t),
            ct);

    private async Task<string> ApplyDeliveryAsync(KavachDbScope scope, string webhookId, string type, PolarSubscription subscription, long timestampUs, CancellationToken ct)
    {
        // Whom this delivery may change: the users it names, then (general path) whom the write attributes or locks.
        var touched = new HashSet<string>(SubscriptionSynchronizer.NamedUsers(subscription), StringComparer.Ordinal);
        var outcome = await UncertainAsync(touched, () => ApplyOrRecordAsync(scope, webhookId, type, subscription, timestampUs, touched, ct)).ConfigureAwait(false);
        if (outcome is WebhookOutcomes.Duplicate or WebhookOutcomes.Stale)
        {
            // Polar's retry of a delivery whose first answer was lost, or the host's execution strategy retrying a
            // commit that went through: the earlier attempt may have committed without announcing. A snapshot that
            // names nobody belongs to whoever holds its customer: the stored subscription says who (the fast path's
            // function answers with it; the general path asks here).
            if (touched.Count == 0)
            {
                await scope.OpenAsync(ct).ConfigureAwait(false);
                touched.UnionWith(await scope.Db.Set<SubscriptionRecord>().AsNoTracking()
                    .Where(r => r.Id == subscription.Id && r.UserId != null).Select(r => r.UserId!).ToListAsync(ct).ConfigureAwait(false));
            }

            await announcer.AnnounceAsync(touched).ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<string> ApplyOrRecordAsync(KavachDbScope scope, string webhookId, string type, PolarSubscription subscription, long timestampUs, HashSet<string> touched, CancellationToken ct)
    {
        try
        {
            // Whether the change is queued as a callback is decided here, before any transaction: this process's
            // handlers, else the kinds the app's hosts declared (read once, then refreshed in the background).
            await kinds.ReadyAsync(ct).ConfigureAwait(false);

            // The common case in one round trip where the database has the function (PostgreSQL, migrated).
            if (await WebhookFunction.TryApplyAsync(scope, synchronizer.FastCall(subscription, timestampUs, webhookId, RecordedType(type)), ct).ConfigureAwait(false) is { } fast)
            {
                if (fast.UserId is { } user)
                {
                    touched.Add(user);
                }

                await AfterCommitAsync(fast.Outcome == WebhookOutcomes.Applied && fast.UserId is { } changed ? [changed] : [], fast.Changes).ConfigureAwait(false);
                return fast.Outcome;
            }

            await scope.OpenAsync(ct).ConfigureAwait(false);
            var db = scope.Db;
            var (outcome, changes, users) = await StoreTransactions.RunAsync(
                db,
                async token =>
                {
                    // Every delivery of this subscription takes this customer lock first, so the
                    // duplicate check below cannot race with a concurrent twin on another instance.
                    await StoreTransactions.LockAsync(db, LockKeys.Customer(subscription.CustomerId), token).ConfigureAwait(false);
                    // The delivery's record and the stored snapshot (the version guard's) in one statement when the
                    // snapshot is stored, as it is for every delivery after a subscription's first.
                    var queries = CompiledQueries.For(db);
                    var stored = await queries.SubscriptionWithDelivery(db, subscription.Id, webhookId, token).ConfigureAwait(false);
                    if (stored?.DeliveryOutcome is { } first && first != WebhookOutcomes.Unprocessable)
                    {
                        return (WebhookOutcomes.Duplicate, 0, (string[]?)null);
                    }

                    // Not stored yet, or recorded as unprocessable (its row is updated below): the record itself.
                    var recorded = stored is null || stored.DeliveryOutcome is not null ? await queries.Delivery(db, webhookId, token).ConfigureAwait(false) : null;
                    if (recorded is not null && recorded.Outcome != WebhookOutcomes.Unprocessable)
                    {
                        return (WebhookOutcomes.Duplicate, 0, (string[]?)null);
                    }

                    var result = await synchronizer.ApplyAsync(db, subscription, timestampUs, webhookId, type, token, customerLocked: true, touched: touched, stored: new(stored?.Subscription)).ConfigureAwait(false);
                    var o = result.Forgotten ? WebhookOutcomes.Forgotten : result.Applied ? WebhookOutcomes.Applied : WebhookOutcomes.Stale;
                    Record(db, recorded, webhookId, type, o, null, null);
                    await db.SaveChangesAsync(token).ConfigureAwait(false);
                    return (o, result.Changes, result.Users);
                },
                ct).ConfigureAwait(false);

            await AfterCommitAsync(users ?? [], changes).ConfigureAwait(false);
            return outcome;
        }
        catch (Exception e) when (StoreTransactions.IsUniqueViolation(e))
        {
            // The same webhook-id committed meanwhile under another customer id: still a duplicate.
            // Any other constraint violation (say, the host inserting the same kavach_users row at
            // the same moment) propagates: 503, and Polar retries.
            await scope.OpenAsync(ct).ConfigureAwait(false);
            if (await IsRecordedAsync(scope.Db, webhookId, ct).ConfigureAwait(false))
            {
                return WebhookOutcomes.Duplicate;
            }

            throw;
        }
    }

    private static async Task<bool> IsRecordedAsync(DbContext db, string webhookId, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        return await db.Set<WebhookEventRecord>().AsNoTracking().AnyAsync(e => e.Id == webhookId, ct).ConfigureAwait(false);
    }

    private async Task<string> RecordOnlyAsync(KavachDbScope scope, string webhookId, string type, string outcome, string? payload, string? error, CancellationToken ct)
    {
        await scope.OpenAsync(ct).ConfigureAwait(false);
        var db = scope.Db;
        db.ChangeTracker.Clear();
        var recorded = await db.Set<WebhookEventRecord>().FirstOrDefaultAsync(e => e.Id == webhookId, ct).ConfigureAwait(false);
        if (recorded is not null && (recorded.Outcome != WebhookOutcomes.Unprocessable || outcome == WebhookOutcomes.Unprocessable))
        {
            // Still unprocessable on a redelivery: kept as it was recorded first.
            return recorded.Outcome == WebhookOutcomes.Unprocessable ? WebhookOutcomes.Unprocessable : WebhookOutcomes.Duplicate;
        }

        Record(db, recorded, webhookId, type, outcome, payload, error);
        try
        {
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
        }
        catch (DbUpdateException e) when (StoreTransactions.IsUniqueViolation(e))
        {
            if (await IsRecordedAsync(db, webhookId, ct).ConfigureAwait(false))
            {
                return WebhookOutcomes.Duplicate;
            }

            throw;
        }

        return outcome;
    }

    /// <summary>
    /// Records the delivery's outcome. A delivery recorded as unprocessable (by an earlier release, say) is not a
    /// duplicate: a redelivery or a replay that can process it now updates its row.
    /// </summary>
    private void Record(DbContext db, WebhookEventRecord? recorded, string id, string type, string outcome, string? payload, string? error)
    {
        if (recorded is null)
        {
            db.Add(new WebhookEventRecord
            {
                Id = id,
                EventType = RecordedType(type),
                Outcome = outcome,
                ReceivedAt = time.GetUtcNow(),
                Payload = payload,
                Error = TextSafety.ForTextColumn(error, Limits.Error),
            });
            return;
        }

        recorded.EventType = RecordedType(type);
        recorded.Outcome = outcome;
        recorded.Payload = payload;
        recorded.Error = TextSafety.ForTextColumn(error, Limits.Error);
        recorded.ReceivedAt = time.GetUtcNow();
    }

    /// <summary>The event type as <c>kavach_polar_webhook_events.event_type</c> keeps it (what fits, NUL replaced).</summary>
    private static string RecordedType(string type) => TextSafety.ForTextColumn(type, Limits.EventType)!;

    // ---- Snapshots read from Polar -------------------------------------------------------------------------------

    /// <summary>
    /// Applies snapshots read from Polar (reconcile, or Polar's answer to a change this server asked for), each in a
    /// transaction of its own, oldest first, so callbacks see a user's subscriptions appear in the order they began.
    /// Each snapshot gets its own event id (<c>{runId}:{subscription id}</c>), so a change is identified by its user and
    /// event id even when one run changes a user twice. Returns how many users' current subscription changed.
    /// </summary>
    public async Task<int> ApplySnapshotsAsync(IEnumerable<PolarSubscription> snapshots, string runId, string eventType, CancellationToken ct)
    {
        var changes = 0;
        var sourceTimestampUs = UnixTime.Microseconds(time.GetUtcNow());
        // Before the transactions: whether changes are queued as callbacks (see CallbackKinds).
        await kinds.ReadyAsync(ct).ConfigureAwait(false);
        foreach (var s in snapshots.OrderBy(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal))
        {
            var eventId = runId + ":" + s.Id;
            var touched = new HashSet<string>(SubscriptionSynchronizer.NamedUsers(s), StringComparer.Ordinal);
            var result = await WriteAsync(
                touched,
                async (db, t) =>
                {
                    await StoreTransactions.LockAsync(db, LockKeys.Customer(s.CustomerId), t).ConfigureAwait(false);
                    var r = await synchronizer.ApplyAsync(db, s, sourceTimestampUs, eventId, eventType, t, customerLocked: true, touched: touched).ConfigureAwait(false);
                    await db.SaveChangesAsync(t).ConfigureAwait(false);
                    return r;
                },
                // Not applied: stale, possibly because the execution strategy retried a commit that went through.
                r => (r.Users ?? (IReadOnlyCollection<string>)touched, r.Changes),
                ct).ConfigureAwait(false);
            changes += result.Changes;
        }

        return changes;
    }

    // ---- Users ---------------------------------------------------------------------------------------------------

    /// <summary>The user's row as stored, or <see langword="null"/>.</summary>
    public Task<KavachUser?> FindUserAsync(string userId, CancellationToken ct) =>
        store.RunAsync((s, t) => s.Db.Set<KavachUser>().AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, t), ct);

    /// <summary>True when <paramref name="customerId"/> was the customer of a forgotten user.</summary>
    public Task<bool> IsForgottenCustomerAsync(string customerId, CancellationToken ct) =>
        store.RunAsync((s, t) => s.Db.Set<ForgottenUserRecord>().AnyAsync(f => f.PolarCustomerId == customerId, t), ct);

    /// <summary>
    /// Creates or refreshes the user's row from the claims (already cut to the columns), under the user's lock, and
    /// says whether the user has a subscription Polar would count against a new one, or was forgotten.
    /// </summary>
    public Task<EnsuredUser> EnsureUserAsync(string userId, string? email, string? name, CancellationToken ct) =>
        store.RunAsync(
            (s, token) => StoreTransactions.RunAsync(
                s.Db,
                async t =>
                {
                    var db = s.Db;
                    var now = time.GetUtcNow();
                    await StoreTransactions.LockAsync(db, LockKeys.User(userId), t).ConfigureAwait(false);
                    var row = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == userId, t).ConfigureAwait(false);
                    if (row is null)
                    {
                        if (await db.Set<ForgottenUserRecord>().AnyAsync(f => f.UserId == userId, t).ConfigureAwait(false))
                        {
                            return new EnsuredUser(null, false, true);
                        }

                        row = new KavachUser { Id = userId, Email = email, Name = name, CreatedAt = now, UpdatedAt = now };
                        db.Add(row);
                    }
                    else if ((email is not null && row.Email != email) || (name is not null && row.Name != name))
                    {
                        row.Email = email ?? row.Email;
                        row.Name = name ?? row.Name;
                        row.UpdatedAt = now;
                    }

                    await db.SaveChangesAsync(t).ConfigureAwait(false);
                    var customerId = row.PolarCustomerId;
                    var live = await db.Set<SubscriptionRecord>()
                        .AnyAsync(r => (r.UserId == userId || (customerId != null && r.CustomerId == customerId)) && BlockingStatuses.Contains(r.Status), t)
                        .ConfigureAwait(false);
                    return new EnsuredUser(row, live, false);
                },
                token),
            ct);

    /// <summary>
    /// Binds <paramref name="customerId"/> to <paramref name="userId"/> after this server looked the customer up, or
    /// created it, by <c>external_id</c> = user id (a trusted source); links the customer's orphan subscriptions and
    /// reprojects (<see cref="SubscriptionSynchronizer.BindAndReprojectAsync"/>). Returns how many users' current
    /// subscription changed (0 or 1; 0 when the user has no row).
    /// </summary>
    public async Task<int> BindCustomerAsync(string userId, string customerId, CancellationToken ct)
    {
        // Before the transaction: whether a change is queued as a callback (see CallbackKinds).
        await kinds.ReadyAsync(ct).ConfigureAwait(false);
        return await WriteAsync(
            [userId],
            async (db, t) =>
            {
                await StoreTransactions.LockAsync(db, LockKeys.Customer(customerId), t).ConfigureAwait(false);
                await StoreTransactions.LockAsync(db, LockKeys.User(userId), t).ConfigureAwait(false);
                var reprojected = await synchronizer.BindAndReprojectAsync(db, userId, customerId, t).ConfigureAwait(false);
                await db.SaveChangesAsync(t).ConfigureAwait(false);
                return reprojected;
            },
            changes => ([userId], changes),
            ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Forgets the binding of <paramref name="customerId"/> to <paramref name="userId"/> (the customer no longer exists
    /// in Polar), if it is still the user's.
    /// </summary>
    public Task UnbindCustomerAsync(string userId, string customerId, CancellationToken ct) =>
        store.RunAsync(
            (s, token) => StoreTransactions.RunAsync(
                s.Db,
                async t =>
                {
                    await StoreTransactions.LockAsync(s.Db, LockKeys.Customer(customerId), t).ConfigureAwait(false);
                    await StoreTransactions.LockAsync(s.Db, LockKeys.User(userId), t).ConfigureAwait(false);
                    return await s.Db.Set<KavachUser>()
                        .Where(u => u.Id == userId && u.PolarCustomerId == customerId)
                        .ExecuteUpdateAsync(u => u.SetProperty(x => x.PolarCustomerId, (string?)null), t)
                        .ConfigureAwait(false);
                },
                token),
            ct);

    /// <summary>
    /// Deletes the user's row, subscription links, grants, orders and pending callbacks in one transaction and writes the tombstone
    /// that keeps later events of the user (or of their customer) out. Returns whether anything was deleted, and the
    /// customer the user was bound to.
    /// </summary>
    public async Task<(bool Removed, string? CustomerId)> ForgetUserAsync(string userId, CancellationToken ct)
    {
        string[] touched = [userId];
        var forgotten = await store.RunAsync(
            async (s, t) =>
            {
                var result = await UncertainAsync(touched, () => ForgetAsync(s.Db, userId, t)).ConfigureAwait(false);
                await AfterCommitAsync(touched, 0).ConfigureAwait(false);
                return result;
            },
            ct).ConfigureAwait(false);
        Log.UserForgotten(logger, userId, forgotten.CustomerId ?? "none");
        return forgotten;
    }

    private async Task<(bool Removed, string? CustomerId)> ForgetAsync(DbContext db, string userId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            // Lock order is customer, then user: read which customer is bound, lock both, and start over if the
            // binding changed in between.
            var bound = await db.Set<KavachUser>().AsNoTracking().Where(u => u.Id == userId).Select(u => u.PolarCustomerId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var (done, removed, customerId) = await StoreTransactions.RunAsync(
                db,
                async t =>
                {
                    if (bound is not null)
                    {
                        await StoreTransactions.LockAsync(db, LockKeys.Customer(bound), t).ConfigureAwait(false);
                    }

                    await StoreTransactions.LockAsync(db, LockKeys.User(userId), t).ConfigureAwait(false);
                    var user = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == userId, t).ConfigureAwait(false);
                    if (user is not null && user.PolarCustomerId != bound && attempt < 3)
                    {
                        return (false, false, (string?)null);
                    }

                    var customer = user?.PolarCustomerId;
                    var tombstone = await db.Set<ForgottenUserRecord>().FirstOrDefaultAsync(f => f.UserId == userId, t).ConfigureAwait(false);
                    if (tombstone is null)
                    {
                        db.Add(new ForgottenUserRecord { UserId = userId, PolarCustomerId = customer, ForgottenAt = time.GetUtcNow() });
                    }
                    else if (customer is not null)
                    {
                        tombstone.PolarCustomerId = customer;
                    }

                    await db.SaveChangesAsync(t).ConfigureAwait(false);
                    var links = await db.Set<SubscriptionRecord>()
                        .Where(r => r.UserId == userId || (customer != null && r.CustomerId == customer && r.UserId == null))
                        .ExecuteDeleteAsync(t).ConfigureAwait(false);
                    await db.Set<BenefitGrantRecord>()
                        .Where(g => g.UserId == userId || (customer != null && g.CustomerId == customer && g.UserId == null))
                        .ExecuteDeleteAsync(t).ConfigureAwait(false);
                    await db.Set<OrderRecord>()
                        .Where(o => o.UserId == userId || (customer != null && o.CustomerId == customer && o.UserId == null))
                        .ExecuteDeleteAsync(t).ConfigureAwait(false);
                    await db.Set<PendingCallbackRecord>().Where(r => r.UserId == userId).ExecuteDeleteAsync(t).ConfigureAwait(false);
                    var rows = await db.Set<KavachUser>().Where(u => u.Id == userId).ExecuteDeleteAsync(t).ConfigureAwait(false);
                    return (true, rows + links > 0, customer);
                },
                cancellationToken).ConfigureAwait(false);
            if (done)
            {
                return (removed, customerId);
            }
        }
    }

    // ---- After the commit ----------------------------------------------------------------------------------------

    /// <summary>
    /// One transaction on a unit of work of its own (<see cref="KavachStore.RunAsync{T}"/>): on failure it announces
    /// <paramref name="touched"/> (<see cref="UncertainAsync{T}"/>), after the commit whom <paramref name="committed"/>
    /// names, and wakes the dispatcher for its changes (<see cref="AfterCommitAsync"/>). Both inside the work, so an
    /// abandoned unit of work still announces once it ends.
    /// </summary>
    private Task<T> WriteAsync<T>(IReadOnlyCollection<string> touched, Func<DbContext, CancellationToken, Task<T>> transaction, Func<T, (IReadOnlyCollection<string> Users, int Changes)> committed, CancellationToken ct) =>
        store.RunAsync(
            async (s, token) =>
            {
                var result = await UncertainAsync(touched, () => StoreTransactions.RunAsync(s.Db, t => transaction(s.Db, t), token)).ConfigureAwait(false);
                var (users, changes) = committed(result);
                await AfterCommitAsync(users, changes).ConfigureAwait(false);
                return result;
            },
            ct);

    /// <summary>
    /// Runs a write whose commit cannot be known when it fails (the connection lost while committing, the execution
    /// strategy giving up after a commit went through, work abandoned at its budget that commits later): on any
    /// exception, forgets <paramref name="touched"/> (as filled so far) in every instance's cache, then rethrows.
    /// </summary>
    private async Task<T> UncertainAsync<T>(IReadOnlyCollection<string> touched, Func<Task<T>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch
        {
            await announcer.AnnounceAsync(touched).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>After a commit: forget <paramref name="users"/> in every instance's cache; wake the dispatcher when a callback may be queued.</summary>
    private async Task AfterCommitAsync(IReadOnlyCollection<string> users, int changes)
    {
        if (users.Count > 0)
        {
            await announcer.AnnounceAsync(users).ConfigureAwait(false);
        }

        if (changes > 0)
        {
            signal.Notify();
        }
    }
}
