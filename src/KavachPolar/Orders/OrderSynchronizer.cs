using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Orders;

/// <summary>
/// Applies Polar orders to the store inside the caller's transaction (only <c>BillingStore</c> calls it, holding the
/// order's customer lock): the version guard (<c>modified_at ?? created_at</c>, ties broken by the envelope timestamp),
/// attribution to a user, and the link of the order's benefit grants to that user.
/// </summary>
/// <remarks>
/// Attribution, as design.md says: the order's <c>metadata.kavach_user_id</c> (Polar copies the checkout's metadata
/// into the order it creates, and the subscription's into its renewal and plan-change orders: REFERENCE.md §8 item
/// 14); else, for a subscription's order, the user of that subscription's row; else the customer's
/// <c>external_id</c>, then the user bound to the customer. An order none of them names is kept and linked when its
/// subscription or its customer becomes a user's (<see cref="LinkAsync"/>).
/// </remarks>
internal sealed class OrderSynchronizer(Benefits.BenefitGrantSynchronizer grants, TimeProvider time, ILogger<OrderSynchronizer> logger)
{
    /// <summary>Result of applying one order.</summary>
    /// <param name="Applied">The order was newer than the stored one and was written.</param>
    /// <param name="Changes">(User, benefit) pairs whose hold changed as the order's grants followed it.</param>
    /// <param name="Forgotten">The order names a forgotten user or customer: nothing was written.</param>
    /// <param name="Users">The users whose orders were written: forget them in caches once committed.</param>
    public readonly record struct ApplyResult(bool Applied, int Changes, bool Forgotten = false, string[]? Users = null);

    /// <summary>
    /// Applies <paramref name="o"/> unless an equal or newer version of it is stored. The caller holds the lock of
    /// <c>o.CustomerId</c>, saves and commits. <paramref name="touched"/> collects the users this write may change.
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(DbContext db, PolarOrder o, long sourceTimestampUs, string eventId, string eventType, CancellationToken ct, ISet<string>? touched = null)
    {
        var version = UnixTime.Microseconds(o.ModifiedAt ?? o.CreatedAt);
        var record = await db.Set<OrderRecord>().FirstOrDefaultAsync(r => r.Id == o.Id, ct).ConfigureAwait(false);
        if (record is not null
            && (record.VersionUs > version || (record.VersionUs == version && record.SourceTimestampUs >= sourceTimestampUs)))
        {
            if (record.UserId is { } owner)
            {
                touched?.Add(owner);
            }

            return new ApplyResult(false, 0);
        }

        var (userId, named) = await AttributeAsync(db, o, record, ct).ConfigureAwait(false);
        if (await UserAttribution.IsForgottenAsync(db, userId, o.CustomerId, ct).ConfigureAwait(false))
        {
            Log.OrderOfForgottenUser(logger, o.Id, o.CustomerId);
            return new ApplyResult(false, 0, Forgotten: true);
        }

        var users = new SortedSet<string>(StringComparer.Ordinal);
        if (userId is not null)
        {
            users.Add(userId);
        }

        if (record?.UserId is { } previous)
        {
            users.Add(previous);
        }

        touched?.UnionWith(users);
        foreach (var user in users)
        {
            await StoreTransactions.LockAsync(db, LockKeys.User(user), ct).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        if (userId is not null && named)
        {
            // As for subscriptions: a user first seen in a webhook gets a row, so the order is there when they sign in.
            await UserAttribution.EnsureUserAsync(db, userId, o.Customer?.Email, o.Customer?.Name, now, ct).ConfigureAwait(false);
        }

        if (record is null)
        {
            record = new OrderRecord { Id = o.Id, CustomerId = o.CustomerId, Status = o.Status, BillingReason = o.BillingReason, Currency = o.Currency };
            db.Add(record);
        }

        record.UserId = userId;
        record.CustomerId = o.CustomerId;
        record.ProductId = o.ProductId;
        record.SubscriptionId = o.SubscriptionId;
        record.CheckoutId = o.CheckoutId;
        record.Status = o.Status;
        record.BillingReason = o.BillingReason;
        record.NetAmount = o.NetAmount;
        record.TaxAmount = o.TaxAmount;
        record.TotalAmount = o.TotalAmount;
        record.RefundedAmount = o.RefundedAmount;
        record.RefundedTaxAmount = o.RefundedTaxAmount;
        record.Currency = o.Currency;
        record.CreatedAt = o.CreatedAt.ToUniversalTime();
        record.VersionUs = version;
        record.SourceTimestampUs = sourceTimestampUs;
        record.UpdatedAt = now;

        var changes = 0;
        if (userId is null)
        {
            Log.OrderUnlinked(logger, o.Id, o.SubscriptionId ?? "none", o.CustomerId);
        }
        else
        {
            // Grants of this order that arrived before it (kept unlinked), or whose order moved here, follow it.
            changes += await grants.LinkOrdersAsync(db, userId, [o.Id], eventId, eventType, touched, ct).ConfigureAwait(false);
        }

        return new ApplyResult(true, changes, Users: [.. users]);
    }

    /// <summary>
    /// Links the orders no user holds yet of <paramref name="subscriptionIds"/> (the user's subscriptions) and, when
    /// <paramref name="customerId"/> is the user's bound customer, the customer's one-time orders, with their grants.
    /// Runs inside a subscription write, which holds the customer's and the user's locks. Returns the (user, benefit)
    /// pairs whose hold changed.
    /// </summary>
    public async Task<int> LinkAsync(DbContext db, string userId, IReadOnlyCollection<string> subscriptionIds, string? customerId, string eventId, string eventType, CancellationToken ct)
    {
        var orphans = await CompiledQueries.ToListAsync(
                CompiledQueries.For(db).OrphanOrders(db, subscriptionIds as string[] ?? [.. subscriptionIds], customerId),
                ct)
            .ConfigureAwait(false);
        if (orphans.Count == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        foreach (var o in orphans)
        {
            o.UserId = userId;
            o.UpdatedAt = now;
        }

        var oneTime = orphans.Where(o => o.SubscriptionId is null).Select(o => o.Id).ToList();
        return oneTime.Count == 0 ? 0 : await grants.LinkOrdersAsync(db, userId, oneTime, eventId, eventType, null, ct).ConfigureAwait(false);
    }

    private static async Task<(string? UserId, bool Named)> AttributeAsync(DbContext db, PolarOrder o, OrderRecord? record, CancellationToken ct)
    {
        if (UserAttribution.Usable(PolarMetadata.UserId(o.Metadata)) is { } fromMetadata)
        {
            return (fromMetadata, true);
        }

        if (o.SubscriptionId is { } subscriptionId
            && await UserAttribution.SubscriptionOwnerAsync(db, subscriptionId, ct).ConfigureAwait(false) is { } owner)
        {
            return (owner, false);
        }

        // While the customer names nobody, the user the order had.
        var (user, named) = await UserAttribution.ByCustomerAsync(db, o.Customer?.ExternalId, o.CustomerId, ct).ConfigureAwait(false);
        return (user ?? record?.UserId, named);
    }
}
