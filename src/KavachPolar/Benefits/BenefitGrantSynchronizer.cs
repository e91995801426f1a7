using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Benefits;

/// <summary>
/// Applies Polar benefit grants to the store inside the caller's transaction (only <c>BillingStore</c> calls it, holding
/// the grant's customer lock): the version guard (<c>modified_at ?? created_at</c>, ties broken by the envelope
/// timestamp), attribution to a user, and the user's benefit changes.
/// </summary>
/// <remarks>
/// Attribution, as design.md says: a subscription-scoped grant belongs to the user of that subscription's row (none
/// while the subscription is not stored or matches no user: the grant is kept and linked when it is, see
/// <see cref="LinkAsync"/>); an order-scoped grant to the user of that order's row (attributed by the order's metadata
/// first: <c>Orders/OrderSynchronizer</c>; none while the order is not stored: the grant keeps the user it had, or none,
/// and is linked when the order is, see <see cref="LinkOrdersAsync"/>); otherwise the customer's <c>external_id</c>,
/// then the user bound to the customer. A
/// member-model grant's <c>member</c> is stored and not used: it matters only for seat grants.
/// </remarks>
internal sealed class BenefitGrantSynchronizer(Callbacks.CallbackKinds kinds, TimeProvider time, ILogger<BenefitGrantSynchronizer> logger)
{
    /// <summary>Result of applying one grant.</summary>
    /// <param name="Applied">The grant was newer than the stored one and was written.</param>
    /// <param name="Changes">(User, benefit) pairs whose hold changed (held, or no longer held).</param>
    /// <param name="Forgotten">The grant names a forgotten user or customer: nothing was written.</param>
    /// <param name="Users">The users whose grants were written: forget them in caches once committed.</param>
    public readonly record struct ApplyResult(bool Applied, int Changes, bool Forgotten = false, string[]? Users = null);

    /// <summary>
    /// Applies <paramref name="g"/> unless an equal or newer version of it is stored. The caller holds the lock of
    /// <c>g.CustomerId</c>, saves and commits. <paramref name="touched"/> collects the users this write may change.
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(DbContext db, PolarBenefitGrant g, long sourceTimestampUs, string eventId, string eventType, CancellationToken ct, ISet<string>? touched = null)
    {
        var version = UnixTime.Microseconds(g.ModifiedAt ?? g.CreatedAt);
        var record = await db.Set<BenefitGrantRecord>().FirstOrDefaultAsync(r => r.Id == g.Id, ct).ConfigureAwait(false);
        if (record is not null
            && (record.VersionUs > version || (record.VersionUs == version && record.SourceTimestampUs >= sourceTimestampUs)))
        {
            if (record.UserId is { } owner)
            {
                touched?.Add(owner);
            }

            return new ApplyResult(false, 0);
        }

        var (userId, fromExternalId) = await AttributeAsync(db, g, record, ct).ConfigureAwait(false);
        if (await UserAttribution.IsForgottenAsync(db, userId, g.CustomerId, ct).ConfigureAwait(false))
        {
            Log.BenefitGrantOfForgottenUser(logger, g.Id, g.CustomerId);
            return new ApplyResult(false, 0, Forgotten: true);
        }

        var previousUserId = record?.UserId;
        var users = new SortedSet<string>(StringComparer.Ordinal);
        if (userId is not null)
        {
            users.Add(userId);
        }

        if (previousUserId is not null)
        {
            users.Add(previousUserId);
        }

        touched?.UnionWith(users);
        foreach (var user in users)
        {
            await StoreTransactions.LockAsync(db, LockKeys.User(user), ct).ConfigureAwait(false);
        }

        var before = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        if (userId is not null && fromExternalId)
        {
            // As for subscriptions: a user first seen in a webhook gets a row, so the grant is there when they sign in.
            await UserAttribution.EnsureUserAsync(db, userId, g.Customer?.Email, g.Customer?.Name, time.GetUtcNow(), ct).ConfigureAwait(false);
        }

        if (record is null)
        {
            record = new BenefitGrantRecord { Id = g.Id, CustomerId = g.CustomerId, BenefitId = g.BenefitId, BenefitType = "", Properties = "{}" };
            db.Add(record);
        }

        Write(record, g, userId, version, sourceTimestampUs);
        if (userId is null)
        {
            Log.BenefitGrantUnlinked(logger, g.Id, g.SubscriptionId ?? g.OrderId ?? "none", g.CustomerId);
        }

        if (g.Error is { } error && g.GrantedAt is null)
        {
            Log.BenefitGrantFailed(logger, g.Id, g.BenefitId, userId ?? "none", error.Type ?? "?", error.Message ?? "");
        }

        var after = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        return new ApplyResult(true, Changed(db, before, after, eventId, eventType), Users: [.. users]);
    }

    /// <summary>
    /// Links the grants of <paramref name="subscriptionIds"/> (the user's subscriptions, as tracked in this transaction)
    /// to <paramref name="userId"/>: grants that arrived before their subscription, or whose subscription moved to
    /// another user. Runs inside a subscription write, which holds the customer's and the users' locks. Returns the
    /// (user, benefit) pairs whose hold changed, and adds the grants' previous users to <paramref name="touched"/>.
    /// </summary>
    public Task<int> LinkAsync(DbContext db, string userId, IReadOnlyCollection<string> subscriptionIds, string eventId, string eventType, ISet<string>? touched, CancellationToken ct) =>
        subscriptionIds.Count == 0
            ? Task.FromResult(0)
            : MoveAsync(db, userId, CompiledQueries.For(db).GrantsOfSubscriptionsNotHeldBy(db, userId, subscriptionIds as string[] ?? [.. subscriptionIds]), eventId, eventType, touched, ct);

    /// <summary>
    /// Links the grants of <paramref name="orderIds"/> (orders now attributed to <paramref name="userId"/>) to that user:
    /// grants that arrived before their order, or whose order moved to another user. Runs inside an order or subscription
    /// write, which holds the customer's lock and the user's. Returns the (user, benefit) pairs whose hold changed.
    /// </summary>
    public Task<int> LinkOrdersAsync(DbContext db, string userId, IReadOnlyCollection<string> orderIds, string eventId, string eventType, ISet<string>? touched, CancellationToken ct) =>
        orderIds.Count == 0
            ? Task.FromResult(0)
            : MoveAsync(db, userId, CompiledQueries.For(db).GrantsOfOrdersNotHeldBy(db, userId, orderIds as string[] ?? [.. orderIds]), eventId, eventType, touched, ct);

    private async Task<int> MoveAsync(DbContext db, string userId, IAsyncEnumerable<BenefitGrantRecord> grantsToMove, string eventId, string eventType, ISet<string>? touched, CancellationToken ct)
    {
        var moving = await CompiledQueries.ToListAsync(grantsToMove, ct).ConfigureAwait(false);
        if (moving.Count == 0)
        {
            return 0;
        }

        var users = new SortedSet<string>(moving.Where(g => g.UserId is not null).Select(g => g.UserId!), StringComparer.Ordinal) { userId };
        touched?.UnionWith(users);
        var before = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        foreach (var g in moving)
        {
            g.UserId = userId;
            g.UpdatedAt = now;
        }

        var after = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        return Changed(db, before, after, eventId, eventType);
    }

    /// <summary>
    /// Deletes <paramref name="gone"/> (grants Polar no longer lists) inside a write that holds their customer's lock;
    /// takes their users' locks and returns the (user, benefit) pairs whose hold changed.
    /// </summary>
    public async Task<int> RemoveAsync(DbContext db, IReadOnlyCollection<BenefitGrantRecord> gone, string eventId, string eventType, ISet<string>? touched, CancellationToken ct)
    {
        if (gone.Count == 0)
        {
            return 0;
        }

        var users = new SortedSet<string>(gone.Where(g => g.UserId is not null).Select(g => g.UserId!), StringComparer.Ordinal);
        touched?.UnionWith(users);
        foreach (var user in users)
        {
            await StoreTransactions.LockAsync(db, LockKeys.User(user), ct).ConfigureAwait(false);
        }

        var before = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        db.RemoveRange(gone);
        var after = await HoldingsAsync(db, users, ct).ConfigureAwait(false);
        return Changed(db, before, after, eventId, eventType);
    }

    private static async Task<(string? UserId, bool FromExternalId)> AttributeAsync(DbContext db, PolarBenefitGrant g, BenefitGrantRecord? record, CancellationToken ct)
    {
        if (g.SubscriptionId is { } subscriptionId)
        {
            return (await UserAttribution.SubscriptionOwnerAsync(db, subscriptionId, ct).ConfigureAwait(false), false);
        }

        if (g.OrderId is { } orderId)
        {
            // The order's user; while the order is not stored (or names nobody yet), the user the grant had: a grant stored
            // before orders were (attributed by the customer then) keeps its user until its order arrives.
            var buyer = await db.Set<OrderRecord>().Where(o => o.Id == orderId).Select(o => o.UserId).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return (buyer ?? record?.UserId, false);
        }

        return await UserAttribution.ByCustomerAsync(db, g.Customer?.ExternalId, g.CustomerId, ct).ConfigureAwait(false);
    }

    private void Write(BenefitGrantRecord r, PolarBenefitGrant g, string? userId, long version, long sourceTimestampUs)
    {
        r.UserId = userId;
        r.CustomerId = g.CustomerId;
        r.MemberId = g.MemberId;
        r.BenefitId = g.BenefitId;
        r.BenefitType = TextSafety.ForTextColumn(g.Benefit?.Type, Limits.BenefitType) ?? (r.BenefitType.Length > 0 ? r.BenefitType : "unknown");
        r.BenefitDescription = TextSafety.ForTextColumn(g.Benefit?.Description, Limits.BenefitDescription) ?? r.BenefitDescription;
        r.SubscriptionId = g.SubscriptionId;
        r.OrderId = g.OrderId;
        r.GrantedAt = g.GrantedAt?.ToUniversalTime();
        r.RevokedAt = g.RevokedAt?.ToUniversalTime();
        // A granted or revoked grant has no error (Polar clears it on revoke since polarsource/polar#13136).
        r.ErrorType = g.GrantedAt is null ? TextSafety.ForTextColumn(g.Error?.Type, Limits.EventType) : null;
        r.ErrorMessage = g.GrantedAt is null ? TextSafety.ForTextColumn(g.Error?.Message, Limits.Error) : null;
        r.Properties = g.Properties is { ValueKind: System.Text.Json.JsonValueKind.Object } p ? TextSafety.ForTextColumn(p.GetRawText()) : "{}";
        r.CreatedAtUs = UnixTime.Microseconds(g.CreatedAt);
        r.VersionUs = version;
        r.SourceTimestampUs = sourceTimestampUs;
        r.UpdatedAt = time.GetUtcNow();
    }

    /// <summary>The benefits each of <paramref name="users"/> holds, from the grants tracked in this transaction.</summary>
    private static async Task<Dictionary<string, Dictionary<string, KavachBenefit>>> HoldingsAsync(DbContext db, SortedSet<string> users, CancellationToken ct)
    {
        var result = new Dictionary<string, Dictionary<string, KavachBenefit>>(StringComparer.Ordinal);
        if (users.Count == 0)
        {
            return result;
        }

        // Tracked entities include rows added or relinked in this transaction and not saved yet.
        await db.Set<BenefitGrantRecord>().Where(g => g.UserId != null && users.Contains(g.UserId)).LoadAsync(ct).ConfigureAwait(false);
        foreach (var user in users)
        {
            result[user] = BenefitHoldings.Of(db.ChangeTracker.Entries<BenefitGrantRecord>()
                    .Where(e => e.State != EntityState.Deleted && e.Entity.UserId == user)
                    .Select(e => e.Entity))
                .ToDictionary(b => b.BenefitId, StringComparer.Ordinal);
        }

        return result;
    }

    /// <summary>
    /// Counts the (user, benefit) pairs whose hold changed (held before and not after, or the other way) and queues each
    /// as a benefit change when some host of the app handles them (the caller got <see cref="Callbacks.CallbackKinds"/>
    /// ready before its transaction).
    /// </summary>
    private int Changed(DbContext db, Dictionary<string, Dictionary<string, KavachBenefit>> before, Dictionary<string, Dictionary<string, KavachBenefit>> after, string eventId, string eventType)
    {
        var changes = 0;
        var queue = kinds.Queues(Callbacks.CallbackKinds.Benefit);
        var now = time.GetUtcNow();
        foreach (var (user, held) in after)
        {
            var had = before.TryGetValue(user, out var b) ? b : [];
            foreach (var benefitId in held.Keys.Union(had.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var current = held.GetValueOrDefault(benefitId);
                var previous = had.GetValueOrDefault(benefitId);
                if ((current is null) == (previous is null))
                {
                    continue;
                }

                changes++;
                if (queue)
                {
                    var change = new KavachBenefitChange { UserId = user, BenefitId = benefitId, Current = current, Previous = previous, EventId = eventId, EventType = eventType };
                    db.Add(new PendingCallbackRecord
                    {
                        UserId = user,
                        Change = Callbacks.BenefitCallback.Serialize(change),
                        NextAttemptAtUs = 0, // due at once, whatever this instance's clock says
                        CreatedAt = now,
                    });
                }
            }
        }

        return changes;
    }
}
