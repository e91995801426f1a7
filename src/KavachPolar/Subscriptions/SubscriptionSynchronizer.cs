using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Subscriptions;

/// <summary>
/// Applies Polar subscription snapshots to the store: the version guard, attribution to a user, customer
/// binding, the <c>kavach_users</c> projection and the pending callbacks, all inside the caller's transaction.
/// </summary>
/// <remarks>
/// Attribution, in order: the subscription's <c>metadata.kavach_user_id</c> (only this server writes it, at
/// checkout, naming the signed-in user who started that checkout; it attributes that one subscription and
/// nothing else); else <c>customer.external_id</c>; else the user bound to <c>customer_id</c>. Polar reuses an
/// existing customer by the email typed on its checkout page, so a customer's <c>external_id</c> can name
/// another person than the one who paid: when metadata and <c>external_id</c> disagree the subscription goes to
/// the metadata user and the customer is bound to neither. A customer is bound to a user only from trusted
/// sources: this server's own look-up or creation by <c>external_id</c> (checkout), or an event whose
/// <c>customer.external_id</c> is that user. Orphan subscriptions are linked only when their customer is bound
/// that way.
/// </remarks>
internal sealed class SubscriptionSynchronizer(
    Callbacks.CallbackKinds kinds,
    Benefits.BenefitGrantSynchronizer benefits,
    Orders.OrderSynchronizer orders,
    TimeProvider time,
    ILogger<SubscriptionSynchronizer> logger)
{
    /// <summary>Result of applying one snapshot.</summary>
    /// <param name="Applied">The snapshot was newer than the stored one and was written.</param>
    /// <param name="Changes">Users whose current subscription changed.</param>
    /// <param name="Forgotten">The snapshot names a forgotten user or customer: nothing was written.</param>
    /// <param name="Users">The users whose subscriptions were written: forget them in caches once committed.</param>
    public readonly record struct ApplyResult(bool Applied, int Changes, bool Forgotten = false, string[]? Users = null);

    /// <summary>The stored snapshot, read by the caller after the customer's lock (<see langword="null"/>: not stored).</summary>
    public readonly record struct Stored(SubscriptionRecord? Record);

    /// <summary>Who a snapshot belongs to, and whether it may bind its customer to that user.</summary>
    private readonly record struct Attribution(string? UserId, bool BindsCustomer);

    /// <summary>
    /// Applies <paramref name="s"/> unless an equal or newer snapshot of it is already stored.
    /// Must run inside <see cref="StoreTransactions.RunAsync{T}"/> (only the billing store calls it); the caller saves (one
    /// <c>SaveChanges</c> for the whole unit of work) and commits. Pass <c>customerLocked</c> when the
    /// caller already holds the customer's lock in this transaction. <paramref name="touched"/>, when given, collects
    /// the users this write may change as soon as they are known (the stored owner of a stale snapshot included), for
    /// a caller that cannot tell whether its commit went through.
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(DbContext db, PolarSubscription s, long sourceTimestampUs, string eventId, string eventType, CancellationToken ct, bool customerLocked = false, ISet<string>? touched = null, Stored? stored = null)
    {
        if (!customerLocked)
        {
            await StoreTransactions.LockAsync(db, LockKeys.Customer(s.CustomerId), ct).ConfigureAwait(false);
        }

        var version = UnixTime.Microseconds(s.ModifiedAt ?? s.CreatedAt);
        var queries = CompiledQueries.For(db);
        var record = stored is { } known ? known.Record : await queries.Subscription(db, s.Id, ct).ConfigureAwait(false);
        if (record is not null
            && (record.VersionUs > version || (record.VersionUs == version && record.SourceTimestampUs >= sourceTimestampUs)))
        {
            if (record.UserId is { } owner)
            {
                touched?.Add(owner);
            }

            return new ApplyResult(false, 0);
        }

        var attribution = await AttributeAsync(db, s, record, ct).ConfigureAwait(false);
        var userId = attribution.UserId;
        var previousUserId = record?.UserId;

        var lockKeys = new SortedSet<string>(StringComparer.Ordinal);
        if (userId is not null)
        {
            lockKeys.Add(userId);
        }

        if (previousUserId is not null)
        {
            lockKeys.Add(previousUserId);
        }

        touched?.UnionWith(lockKeys);
        foreach (var key in lockKeys)
        {
            await StoreTransactions.LockAsync(db, LockKeys.User(key), ct).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        KavachUser? user = null;
        List<SubscriptionRecord>? subscriptionsOfUser = null;
        if (userId is not null)
        {
            // The user's row and, in the same statement, what the reprojection below reads: the user's subscriptions,
            // with the customer's orphans when the snapshot may bind it (BindAsync decides; orphans read and not bound
            // stay as they are). Both after the user's lock, as they were when read one after the other.
            var orphansIfBound = attribution.BindsCustomer ? s.CustomerId : null;
            foreach (var row in await CompiledQueries.ToListAsync(queries.UserWithSubscriptions(db, userId, orphansIfBound), ct).ConfigureAwait(false))
            {
                user = row.User;
                subscriptionsOfUser ??= [];
                if (row.Subscription is { } subscription)
                {
                    subscriptionsOfUser.Add(subscription);
                }
            }

            if (user is null && await UserAttribution.IsForgottenAsync(db, userId, s.CustomerId, ct).ConfigureAwait(false))
            {
                Log.SubscriptionOfForgottenUser(logger, s.Id, s.CustomerId);
                return new ApplyResult(false, 0, Forgotten: true);
            }
        }
        else if (await UserAttribution.IsForgottenAsync(db, null, s.CustomerId, ct).ConfigureAwait(false))
        {
            // An orphan of a forgotten user's customer is not kept either.
            Log.SubscriptionOfForgottenUser(logger, s.Id, s.CustomerId);
            return new ApplyResult(false, 0, Forgotten: true);
        }

        if (record is null)
        {
            record = new SubscriptionRecord { Id = s.Id, CustomerId = s.CustomerId, Status = s.Status, ProductId = s.ProductId };
            db.Add(record);
        }

        record.UserId = userId;
        record.CustomerId = s.CustomerId;
        record.CustomerExternalId = TextSafety.ForTextColumn(s.Customer?.ExternalId, Limits.UserId);
        record.MetadataUserId = TextSafety.ForTextColumn(PolarMetadata.UserId(s.Metadata), Limits.UserId);
        record.Status = s.Status;
        record.ProductId = s.ProductId;
        record.CurrentPeriodEnd = s.CurrentPeriodEnd?.ToUniversalTime();
        record.CancelAtPeriodEnd = s.CancelAtPeriodEnd;
        (record.ScheduledProductId, record.ScheduledChangeAt) = Scheduled(s);
        record.CreatedAtUs = UnixTime.Microseconds(s.CreatedAt);
        record.VersionUs = version;
        record.SourceTimestampUs = sourceTimestampUs;
        record.UpdatedAt = now;

        var changes = 0;
        if (userId is null)
        {
            Log.SubscriptionUnlinked(logger, s.Id, s.CustomerId);
        }
        else
        {
            user ??= UserAttribution.NewUser(db, userId, s.Customer?.Email, s.Customer?.Name, now);
            var orphansOf = attribution.BindsCustomer ? await BindAsync(db, user, s.CustomerId, ct).ConfigureAwait(false) : null;
            changes += await ReprojectAsync(db, user, eventId, eventType, now, ct, orphansOf, subscriptionsOfUser).ConfigureAwait(false);
        }

        if (previousUserId is not null && previousUserId != userId)
        {
            var previousUser = await queries.User(db, previousUserId, ct).ConfigureAwait(false);
            if (previousUser is not null)
            {
                changes += await ReprojectAsync(db, previousUser, eventId, eventType, now, ct).ConfigureAwait(false);
            }
        }

        return new ApplyResult(true, changes, Users: [.. lockKeys]);
    }

    /// <summary>
    /// The arguments of <see cref="WebhookFunction"/> for a snapshot: the same validated, truncated inputs and the same
    /// attribution inputs as <see cref="ApplyAsync"/> uses, so both paths decide alike.
    /// </summary>
    public WebhookFunction.Call FastCall(PolarSubscription s, long sourceTimestampUs, string eventId, string eventType)
    {
        var (scheduledProduct, scheduledAt) = Scheduled(s);
        return new(
            eventId,
            eventType,
            sourceTimestampUs,
            time.GetUtcNow(),
            kinds.Queues(Callbacks.CallbackKinds.Subscription),
            s.Id,
            s.CustomerId,
            UserAttribution.Usable(s.Customer?.ExternalId),
            UserAttribution.Usable(PolarMetadata.UserId(s.Metadata)),
            s.Status,
            s.ProductId,
            s.CurrentPeriodEnd?.ToUniversalTime(),
            s.CancelAtPeriodEnd,
            UnixTime.Microseconds(s.CreatedAt),
            UnixTime.Microseconds(s.ModifiedAt ?? s.CreatedAt),
            TextSafety.ForTextColumn(s.Customer?.Email, Limits.Email),
            TextSafety.ForTextColumn(s.Customer?.Name, Limits.Name),
            TextSafety.ForTextColumn(s.Customer?.ExternalId, Limits.UserId),
            TextSafety.ForTextColumn(PolarMetadata.UserId(s.Metadata), Limits.UserId),
            scheduledProduct,
            scheduledAt);
    }

    /// <summary>
    /// The plan change Polar holds for the next period (<c>pending_update</c> with a product), as both paths store it;
    /// a pending update that changes only seats or units is no plan change.
    /// </summary>
    internal static (string? ProductId, DateTimeOffset? AppliesAt) Scheduled(PolarSubscription s) =>
        s.PendingUpdate is { ProductId: { } product } pending ? (product, pending.AppliesAt.ToUniversalTime()) : (null, null);

    /// <summary>
    /// Binds <paramref name="customerId"/> to <paramref name="userId"/> after this server looked the customer up,
    /// or created it, by <c>external_id</c> = user id (a trusted source); links the customer's orphan
    /// subscriptions and reprojects. Runs inside the caller's transaction, which holds the customer's lock and then the
    /// user's; the caller saves. Returns 0 when the user has no row.
    /// </summary>
    public async Task<int> BindAndReprojectAsync(DbContext db, string userId, string customerId, CancellationToken ct)
    {
        var user = await CompiledQueries.For(db).User(db, userId, ct).ConfigureAwait(false);
        if (user is null)
        {
            return 0;
        }

        var orphansOf = await BindAsync(db, user, customerId, ct).ConfigureAwait(false);
        var eventId = "link:" + customerId + ":" + Guid.NewGuid().ToString("N");
        return await ReprojectAsync(db, user, eventId, "link", time.GetUtcNow(), ct, orphansOf).ConfigureAwait(false);
    }

    private async Task<Attribution> AttributeAsync(DbContext db, PolarSubscription s, SubscriptionRecord? record, CancellationToken ct)
    {
        var fromMetadata = UserAttribution.Usable(PolarMetadata.UserId(s.Metadata));
        var fromExternalId = UserAttribution.Usable(s.Customer?.ExternalId);
        if (fromMetadata is not null)
        {
            if (fromExternalId is not null && fromExternalId != fromMetadata)
            {
                // The payer typed the email of another Polar customer on Polar's checkout page (or the customer was
                // reused some other way): the purchase is the metadata user's, the customer belongs to neither.
                Log.AttributionConflict(logger, s.Id, s.CustomerId, fromMetadata, fromExternalId);
                return new Attribution(fromMetadata, BindsCustomer: false);
            }

            return new Attribution(fromMetadata, BindsCustomer: fromExternalId == fromMetadata);
        }

        if (fromExternalId is not null)
        {
            return new Attribution(fromExternalId, BindsCustomer: true);
        }

        var bound = await UserAttribution.BoundUserAsync(db, s.CustomerId, ct).ConfigureAwait(false);
        return new Attribution(bound ?? record?.UserId, BindsCustomer: false);
    }

    /// <summary>
    /// Binds the customer to the user from a trusted source, unless another user holds it. A trusted source may replace
    /// the user's previous customer: Polar keeps one live customer per external id, so the previous one was deleted in
    /// Polar. Returns the customer whose orphan subscriptions become the user's (<see cref="ReprojectAsync"/> links them
    /// as it loads the user's subscriptions, in the same query), or <see langword="null"/> when another user holds it.
    /// </summary>
    private static async Task<string?> BindAsync(DbContext db, KavachUser user, string customerId, CancellationToken ct)
    {
        if (user.PolarCustomerId != customerId)
        {
            var takenByOther = await CompiledQueries.For(db).CustomerTakenByOther(db, customerId, user.Id, ct).ConfigureAwait(false);
            if (takenByOther)
            {
                return null;
            }

            user.PolarCustomerId = customerId;
        }

        return customerId;
    }

    /// <summary>Recomputes the user's current subscription; queues the callback when it changed.</summary>
    /// <remarks>
    /// <paramref name="orphansOf"/>, a customer just bound to the user: its subscriptions that name no user are linked to
    /// the user, read by the same query as the user's own (one round trip fewer while the locks are held).
    /// </remarks>
    private async Task<int> ReprojectAsync(DbContext db, KavachUser user, string eventId, string eventType, DateTimeOffset now, CancellationToken ct, string? orphansOf = null, List<SubscriptionRecord>? loaded = null)
    {
        // Tracked entities include rows added or relinked in this transaction and not saved yet. Loaded already (with
        // the user's row, under the user's lock): the user's subscriptions, and the orphans of every customer this
        // write may bind.
        var userId = user.Id;
        loaded ??= await CompiledQueries.ToListAsync(CompiledQueries.For(db).SubscriptionsOf(db, userId, orphansOf), ct).ConfigureAwait(false);
        if (orphansOf is not null)
        {
            foreach (var orphan in loaded)
            {
                // Stored without a user (and not given one since in this transaction): the bound customer's orphan.
                if (orphan.UserId is null && orphan.CustomerId == orphansOf)
                {
                    orphan.UserId = userId;
                }
            }
        }

        var subscriptions = db.ChangeTracker.Entries<SubscriptionRecord>()
            .Where(e => e.State != EntityState.Deleted && e.Entity.UserId == user.Id)
            .Select(e => e.Entity)
            .ToList();

        // Grants that arrived before their subscription, or whose subscription moved here, follow it.
        // The dispatcher's poll (every second) picks up the benefit changes this queues; the count below is subscriptions'.
        await benefits.LinkAsync(db, user.Id, [.. subscriptions.Select(s => s.Id)], eventId, eventType, null, ct).ConfigureAwait(false);

        // Orders no user held yet follow their subscription, and the bound customer's one-time orders follow the customer.
        await orders.LinkAsync(db, user.Id, [.. subscriptions.Select(s => s.Id)], user.PolarCustomerId, eventId, eventType, ct).ConfigureAwait(false);

        var previous = SubscriptionProjection.Read(user);
        SubscriptionProjection.Write(user, subscriptions, now);
        var current = SubscriptionProjection.Read(user);
        if (Equals(previous, current))
        {
            return 0;
        }

        // Queued when some host of the app handles subscription changes, whichever process writes this one (the
        // caller got CallbackKinds ready before its transaction).
        if (kinds.Queues(Callbacks.CallbackKinds.Subscription))
        {
            var change = new KavachSubscriptionChange { UserId = user.Id, Current = current, Previous = previous, EventId = eventId, EventType = eventType };
            db.Add(new PendingCallbackRecord
            {
                UserId = user.Id,
                Change = JsonSerializer.Serialize(change, OutboxJsonContext.Default.KavachSubscriptionChange),
                NextAttemptAtUs = 0, // due at once, whatever this instance's clock says
                CreatedAt = now,
            });
        }

        return 1;
    }

    /// <summary>
    /// The users a snapshot names (its metadata user, its customer's external id): among those a write of it may have
    /// changed, when the writer cannot tell whether it committed (an error after the work began, or a retry that finds
    /// its own earlier commit and answers duplicate or stale).
    /// </summary>
    public static string[] NamedUsers(PolarSubscription s) =>
        [.. new[] { UserAttribution.Usable(PolarMetadata.UserId(s.Metadata)), UserAttribution.Usable(s.Customer?.ExternalId) }.OfType<string>().Distinct(StringComparer.Ordinal)];
}
