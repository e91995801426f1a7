using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Billing;

/// <summary>The billing store's order writes (from webhooks and from Polar's list endpoint) and reads.</summary>
internal sealed partial class BillingStore
{
    /// <summary>Statuses of a completed, not fully refunded payment (Polar's <c>OrderStatus.paid_statuses()</c>).</summary>
    public static readonly string[] PurchasedStatuses = ["paid", "partially_refunded"];

    /// <summary>The <c>billing_reason</c> of a one-time purchase.</summary>
    public const string PurchaseReason = "purchase";

    /// <summary>
    /// Applies an <c>order.*</c> delivery and records it, waited for at most <paramref name="budget"/>, in one
    /// transaction on the EF Core path (orders are rare next to subscription events): the customer's lock, the
    /// <c>webhook-id</c> check, the order behind its version guard. Answers <see cref="WebhookOutcomes.Applied"/>,
    /// <see cref="WebhookOutcomes.Stale"/>, <see cref="WebhookOutcomes.Forgotten"/> or <see cref="WebhookOutcomes.Duplicate"/>.
    /// </summary>
    public Task<string> ApplyOrderDeliveryAsync(string webhookId, string type, PolarOrder order, long timestampUs, TimeSpan budget, CancellationToken ct) =>
        store.RunHotAsync(budget, (scope, t) => ApplyOrderDeliveryAsync(scope, webhookId, type, order, timestampUs, t), ct);

    private Task<string> ApplyOrderDeliveryAsync(KavachDbScope scope, string webhookId, string type, PolarOrder order, long timestampUs, CancellationToken ct)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var named in new[] { PolarMetadata.UserId(order.Metadata), order.Customer?.ExternalId })
        {
            if (named is { Length: > 0 and <= Limits.UserId })
            {
                touched.Add(named);
            }
        }

        return ApplyCustomerDeliveryAsync(
            scope,
            webhookId,
            type,
            order.CustomerId,
            touched,
            async (db, t) =>
            {
                var r = await orders.ApplyAsync(db, order, timestampUs, webhookId, RecordedType(type), t, touched).ConfigureAwait(false);
                return (r.Applied, r.Forgotten, r.Changes, r.Users);
            },
            ct);
    }

    /// <summary>
    /// Applies orders read from Polar (<c>GET /v1/orders/</c>, reconcile), one transaction per customer under its lock,
    /// oldest first, each behind its version guard and attributed by its own rules. Polar keeps every order (none is
    /// deleted), so nothing stored is removed. Returns the (user, benefit) pairs whose hold changed.
    /// </summary>
    public async Task<int> ApplyOrdersAsync(IEnumerable<PolarOrder> listed, CancellationToken ct)
    {
        var sourceTimestampUs = UnixTime.Microseconds(time.GetUtcNow());
        await kinds.ReadyAsync(ct).ConfigureAwait(false);
        var eventId = "reconcile:" + Guid.NewGuid().ToString("N");
        var changes = 0;
        foreach (var customer in listed.GroupBy(o => o.CustomerId, StringComparer.Ordinal))
        {
            var touched = new HashSet<string>(StringComparer.Ordinal);
            changes += await WriteAsync(
                touched,
                async (db, t) =>
                {
                    await StoreTransactions.LockAsync(db, LockKeys.Customer(customer.Key), t).ConfigureAwait(false);
                    var n = 0;
                    foreach (var o in customer.OrderBy(o => o.CreatedAt).ThenBy(o => o.Id, StringComparer.Ordinal))
                    {
                        n += (await orders.ApplyAsync(db, o, sourceTimestampUs, eventId, "reconcile", t, touched).ConfigureAwait(false)).Changes;
                    }

                    await db.SaveChangesAsync(t).ConfigureAwait(false);
                    return n;
                },
                n => (touched, n),
                ct).ConfigureAwait(false);
        }

        return changes;
    }

    /// <summary>The user's orders, newest first, at most <paramref name="limit"/>.</summary>
    public Task<List<OrderRecord>> OrdersOfUserAsync(string userId, int limit, CancellationToken ct) =>
        store.RunAsync(
            async (s, t) =>
            {
                var mine = s.Db.Set<OrderRecord>().AsNoTracking().Where(o => o.UserId == userId);
                if (StoreProvider.IsSqlite(s.Db))
                {
                    // SQLite cannot order by a DateTimeOffset in SQL (EF Core refuses to translate it): one user's orders
                    // are few, so they are ordered here.
                    return [.. (await mine.ToListAsync(t).ConfigureAwait(false))
                        .OrderByDescending(o => o.CreatedAt).ThenByDescending(o => o.Id, StringComparer.Ordinal).Take(limit)];
                }

                return await mine.OrderByDescending(o => o.CreatedAt).ThenByDescending(o => o.Id).Take(limit).ToListAsync(t).ConfigureAwait(false);
            },
            ct);

    /// <summary>The order when it is <paramref name="userId"/>'s, else <see langword="null"/>.</summary>
    public Task<OrderRecord?> OrderOfUserAsync(string userId, string orderId, CancellationToken ct) =>
        store.RunAsync((s, t) => s.Db.Set<OrderRecord>().AsNoTracking().FirstOrDefaultAsync(o => o.Id == orderId && o.UserId == userId, t), ct);

    /// <summary>Whether the user (or their bound customer) holds a paid, not fully refunded one-time order of <paramref name="productId"/>.</summary>
    public Task<bool> HasPurchasedAsync(string userId, string? customerId, string productId, CancellationToken ct) =>
        store.RunAsync(
            (s, t) => s.Db.Set<OrderRecord>().AsNoTracking().AnyAsync(
                o => (o.UserId == userId || (customerId != null && o.CustomerId == customerId))
                     && o.ProductId == productId && o.BillingReason == PurchaseReason && PurchasedStatuses.Contains(o.Status),
                t),
            ct);
}
