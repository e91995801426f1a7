using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Endpoints;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Subscriptions;

/// <summary>
/// Applies Polar subscription snapshots to the store: the version guard, user linking, the
/// <c>kavach_users</c> projection and the pending callbacks, all inside the caller's transaction.
/// </summary>
internal sealed class SubscriptionSynchronizer(
    Callbacks.SubscriptionChangeListeners listeners,
    TimeProvider time,
    ILogger<SubscriptionSynchronizer> logger)
{
    public const string UserIdMetadataKey = "kavach_user_id";

    public static string CustomerLockKey(string customerId) => "kavach:customer:" + customerId;

    public static string UserLockKey(string userId) => "kavach:user:" + userId;

    /// <summary>Result of applying one snapshot.</summary>
    public readonly record struct ApplyResult(bool Applied, int Changes);

    /// <summary>
    /// Applies <paramref name="s"/> unless an equal or newer snapshot of it is already stored.
    /// Must run inside <see cref="StoreTransactions.RunAsync{T}"/>; the caller saves (one
    /// <c>SaveChanges</c> for the whole unit of work) and commits. Pass <c>customerLocked</c> when the
    /// caller already holds the customer's lock in this transaction.
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(DbContext db, PolarSubscription s, long sourceTimestampUs, string eventId, string eventType, CancellationToken ct, bool customerLocked = false)
    {
        if (!customerLocked)
        {
            await StoreTransactions.LockAsync(db, CustomerLockKey(s.CustomerId), ct).ConfigureAwait(false);
        }

        var version = ToUs(s.ModifiedAt ?? s.CreatedAt);
        var record = await db.Set<SubscriptionRecord>().FirstOrDefaultAsync(r => r.Id == s.Id, ct).ConfigureAwait(false);
        if (record is not null
            && (record.VersionUs > version || (record.VersionUs == version && record.SourceTimestampUs >= sourceTimestampUs)))
        {
            return new ApplyResult(false, 0);
        }

        var now = time.GetUtcNow();
        var userId = await ResolveUserIdAsync(db, s, record, ct).ConfigureAwait(false);
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

        foreach (var key in lockKeys)
        {
            await StoreTransactions.LockAsync(db, UserLockKey(key), ct).ConfigureAwait(false);
        }

        if (record is null)
        {
            record = new SubscriptionRecord { Id = s.Id, CustomerId = s.CustomerId, Status = s.Status, ProductId = s.ProductId };
            db.Add(record);
        }

        record.UserId = userId;
        record.CustomerId = s.CustomerId;
        record.CustomerExternalId = Truncate(s.Customer?.ExternalId, Limits.UserId);
        record.MetadataUserId = Truncate(MetadataUserId(s), Limits.UserId);
        record.Status = s.Status;
        record.ProductId = s.ProductId;
        record.CurrentPeriodEnd = s.CurrentPeriodEnd?.ToUniversalTime();
        record.CancelAtPeriodEnd = s.CancelAtPeriodEnd;
        record.CreatedAtUs = ToUs(s.CreatedAt);
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
            var user = await GetOrCreateUserAsync(db, userId, s.Customer, now, ct).ConfigureAwait(false);
            await BindCustomerAsync(db, user, s.CustomerId, s.Customer?.ExternalId == userId, ct).ConfigureAwait(false);
            changes += await ReprojectAsync(db, user, eventId, eventType, now, ct).ConfigureAwait(false);
        }

        if (previousUserId is not null && previousUserId != userId)
        {
            var previousUser = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == previousUserId, ct).ConfigureAwait(false);
            if (previousUser is not null)
            {
                changes += await ReprojectAsync(db, previousUser, eventId, eventType, now, ct).ConfigureAwait(false);
            }
        }

        return new ApplyResult(true, changes);
    }

    /// <summary>
    /// Binds <paramref name="customerId"/> to <paramref name="userId"/> (as checkout does), links the
    /// customer's subscriptions that matched no user yet, and reprojects. Runs inside a transaction.
    /// </summary>
    public async Task<int> BindCustomerToUserAsync(DbContext db, string userId, string customerId, bool customerHasThisExternalId, string eventId, CancellationToken ct)
    {
        await StoreTransactions.LockAsync(db, CustomerLockKey(customerId), ct).ConfigureAwait(false);
        await StoreTransactions.LockAsync(db, UserLockKey(userId), ct).ConfigureAwait(false);
        var user = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == userId, ct).ConfigureAwait(false);
        if (user is null)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        await BindCustomerAsync(db, user, customerId, customerHasThisExternalId, ct, linkOrphansWhenBound: true).ConfigureAwait(false);
        var changes = await ReprojectAsync(db, user, eventId, "link", now, ct).ConfigureAwait(false);
        await db.SaveChangesAsync(ct).ConfigureAwait(false);
        return changes;
    }

    private static async Task<string?> ResolveUserIdAsync(DbContext db, PolarSubscription s, SubscriptionRecord? record, CancellationToken ct)
    {
        var external = s.Customer?.ExternalId;
        if (IsUsableUserId(external))
        {
            return external;
        }

        var fromMetadata = MetadataUserId(s);
        if (IsUsableUserId(fromMetadata))
        {
            return fromMetadata;
        }

        var bound = await db.Set<KavachUser>()
            .Where(u => u.PolarCustomerId == s.CustomerId)
            .Select(u => u.Id)
            .FirstOrDefaultAsync(ct)
            .ConfigureAwait(false);
        return bound ?? record?.UserId;
    }

    private static async Task<KavachUser> GetOrCreateUserAsync(DbContext db, string userId, PolarCustomer? customer, DateTimeOffset now, CancellationToken ct)
    {
        var user = await db.Set<KavachUser>().FirstOrDefaultAsync(u => u.Id == userId, ct).ConfigureAwait(false);
        if (user is not null)
        {
            return user;
        }

        // A user first seen in a webhook (e.g. the checkout was created elsewhere): the row is
        // created from the Polar customer so that the subscription is there when they sign in.
        user = new KavachUser
        {
            Id = userId,
            Email = Truncate(customer?.Email, 320),
            Name = Truncate(customer?.Name, 256),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(user);
        return user;
    }

    /// <summary>
    /// Sets the user's Polar customer when it has none, or when Polar says this customer's external id
    /// is this user; never takes a customer already bound to another user. Then links that
    /// customer's subscriptions that had no user.
    /// </summary>
    private static async Task BindCustomerAsync(DbContext db, KavachUser user, string customerId, bool customerHasThisExternalId, CancellationToken ct, bool linkOrphansWhenBound = false)
    {
        if (user.PolarCustomerId == customerId && linkOrphansWhenBound)
        {
            // Checkout and reconcile (not the webhook hot path) also sweep up orphans of a customer
            // that was bound by other means, e.g. a host importing polar_customer_id itself.
            await LinkOrphansAsync(db, user.Id, customerId, ct).ConfigureAwait(false);
            return;
        }

        if (user.PolarCustomerId == customerId || (user.PolarCustomerId is not null && !customerHasThisExternalId))
        {
            // Already bound (its orphans were linked then; later subscriptions of the customer
            // resolve to this user), or bound to another customer that this one may not replace.
            return;
        }

        var takenByOther = await db.Set<KavachUser>()
            .AnyAsync(u => u.PolarCustomerId == customerId && u.Id != user.Id, ct)
            .ConfigureAwait(false);
        if (!takenByOther)
        {
            user.PolarCustomerId = customerId;
            await LinkOrphansAsync(db, user.Id, customerId, ct).ConfigureAwait(false);
        }
    }

    private static async Task LinkOrphansAsync(DbContext db, string userId, string customerId, CancellationToken ct)
    {
        var orphans = await db.Set<SubscriptionRecord>()
            .Where(r => r.CustomerId == customerId && r.UserId == null)
            .ToListAsync(ct)
            .ConfigureAwait(false);
        foreach (var orphan in orphans)
        {
            orphan.UserId = userId;
        }
    }

    /// <summary>Recomputes the user's current subscription; queues the callback when it changed.</summary>
    private async Task<int> ReprojectAsync(DbContext db, KavachUser user, string eventId, string eventType, DateTimeOffset now, CancellationToken ct)
    {
        // Tracked entities include rows added or relinked in this transaction and not saved yet.
        await db.Set<SubscriptionRecord>().Where(r => r.UserId == user.Id).LoadAsync(ct).ConfigureAwait(false);
        var subscriptions = db.ChangeTracker.Entries<SubscriptionRecord>()
            .Where(e => e.State != EntityState.Deleted && e.Entity.UserId == user.Id)
            .Select(e => e.Entity)
            .ToList();

        var previous = SubscriptionProjection.Read(user);
        SubscriptionProjection.Write(user, subscriptions, now);
        var current = SubscriptionProjection.Read(user);
        if (Equals(previous, current))
        {
            return 0;
        }

        if (listeners.Any)
        {
            var change = new KavachSubscriptionChange(user.Id, current, previous, eventId, eventType);
            db.Add(new PendingCallbackRecord
            {
                UserId = user.Id,
                Change = JsonSerializer.Serialize(change, KavachJsonContext.Default.KavachSubscriptionChange),
                NextAttemptAtUs = ToUs(now),
                CreatedAt = now,
            });
        }

        return 1;
    }

    private static string? MetadataUserId(PolarSubscription s) =>
        s.Metadata is not null
        && s.Metadata.TryGetValue(UserIdMetadataKey, out var v)
        && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static bool IsUsableUserId(string? id) => !string.IsNullOrEmpty(id) && id.Length <= Limits.UserId;

    private static string? Truncate(string? value, int max) => TextSafety.ForTextColumn(value, max);

    public static long ToUs(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}
