using System.Diagnostics.CodeAnalysis;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Reads a user's subscription state for GET subscription, the gate and <see cref="IKavachPolarSubscriptions"/>:
/// from <see cref="SubscriptionCache"/>, or with one query (the user's row, the products of their entitled
/// subscriptions, the benefits they hold and the products they bought once) bounded by <see cref="KavachPolarOptions.DatabaseTimeout"/>. A singleton with nothing else to
/// build per request.
/// </summary>
internal sealed class SubscriptionReader(KavachStore store, SubscriptionCache cache, IOptionsMonitor<KavachPolarOptions> options)
{
    /// <summary>
    /// The user's state when the read cache holds it and may serve it now; no database on this path (an entry near the
    /// end of its life is read again in the background, see <see cref="SubscriptionCache"/>).
    /// </summary>
    public bool TryGetCached(string userId, [NotNullWhen(true)] out CachedUser? state)
    {
        if (!cache.TryGet(userId, out state, out var refresh))
        {
            return false;
        }

        if (refresh)
        {
            _ = RefreshAsync(userId);
        }

        return true;
    }

    public async Task<CachedUser> LoadAsync(string userId, CancellationToken ct)
    {
        if (TryGetCached(userId, out var hit))
        {
            return hit;
        }

        return await ReadAndCacheAsync(userId, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the user from the database and caches what was read, unless a change to the user was announced since the
    /// read began (the stripe's stamp, taken first, then no longer matches).
    /// </summary>
    private async Task<CachedUser> ReadAndCacheAsync(string userId, CancellationToken ct)
    {
        var stamp = cache.Stamp(userId);
        var loaded = await store.RunHotAsync(options.CurrentValue.DatabaseTimeout, (s, t) => QueryAsync(s, userId, t), ct).ConfigureAwait(false);
        cache.Set(userId, loaded, stamp);
        return loaded;
    }

    /// <summary>
    /// Reads a cached user again, off the request that noticed the entry's age. A failure changes nothing: the entry
    /// serves until it expires, and the next read after that goes to the database and fails or succeeds there.
    /// </summary>
    private async Task RefreshAsync(string userId)
    {
        try
        {
            await Task.Yield();
            await ReadAndCacheAsync(userId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // See above: nothing to undo, and the request that started this has its answer already.
        }
    }

    /// <summary>Whether the user has an entitled subscription, of one of <paramref name="products"/> when given (ids or slugs).</summary>
    public async Task<bool> IsEntitledAsync(string userId, IReadOnlyCollection<string>? products, CancellationToken ct)
    {
        var state = await LoadAsync(userId, ct).ConfigureAwait(false);
        if (products is not { Count: > 0 })
        {
            return state.EntitledProducts.Length > 0;
        }

        return HoldsAny(state, Products.ResolveAll(products, options.CurrentValue));
    }

    /// <summary>Whether the user has an entitled subscription to one of <paramref name="productIds"/> (ids, any case).</summary>
    public static bool HoldsAny(CachedUser state, string[] productIds)
    {
        foreach (var held in state.EntitledProducts)
        {
            foreach (var id in productIds)
            {
                if (string.Equals(held, id, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The user's row and the products of their entitled subscriptions: one query, compiled once per application (a
    /// compiled query serves one model, and a process may host applications with different ones, as test suites do).
    /// </summary>
    private readonly Func<DbContext, string, CancellationToken, Task<UserState?>> _query = EF.CompileAsyncQuery(
        (DbContext db, string userId, CancellationToken ct) => db.Set<KavachUser>().AsNoTracking()
            .Where(u => u.Id == userId)
            .Select(u => new UserState
            {
                User = u,
                Entitled = db.Set<SubscriptionRecord>()
                    .Where(r => r.UserId == u.Id && SubscriptionStatuses.Entitled.Contains(r.Status))
                    .Select(r => r.ProductId)
                    .ToArray(),
                // One benefit may be held through several grants; Distinct here would need SQL APPLY, which SQLite lacks.
                Benefits = db.Set<BenefitGrantRecord>()
                    .Where(g => g.UserId == u.Id && g.GrantedAt != null)
                    .Select(g => g.BenefitId)
                    .ToArray(),
                Purchases = db.Set<OrderRecord>()
                    .Where(o => o.UserId == u.Id && o.BillingReason == Billing.BillingStore.PurchaseReason && o.ProductId != null
                                && Billing.BillingStore.PurchasedStatuses.Contains(o.Status))
                    .Select(o => o.ProductId!)
                    .ToArray(),
            })
            .FirstOrDefault());

    /// <summary>
    /// The same query as <see cref="_query"/> for a raw PostgreSQL connection (see <see cref="DirectPostgres"/>). A
    /// benefit held through several grants, or a product bought twice, comes back twice: <see cref="ReadRow"/> keeps one
    /// (<c>SELECT DISTINCT</c> sorts in each subquery, about 10 µs of PostgreSQL's time a read, for arrays of one or two).
    /// </summary>
    private static readonly string DirectSql =
        "SELECT u.polar_subscription_id, u.polar_subscription_status, u.polar_product_id, u.polar_current_period_end, u.polar_cancel_at_period_end, "
        + "u.polar_scheduled_product_id, u.polar_scheduled_change_at, ARRAY(SELECT s.product_id FROM kavach_polar_subscriptions s WHERE s.user_id = u.id AND s.status IN ('"
        + string.Join("', '", SubscriptionStatuses.Entitled) + "')), "
        + "ARRAY(SELECT g.benefit_id FROM kavach_polar_benefit_grants g WHERE g.user_id = u.id AND g.granted_at IS NOT NULL), "
        + "ARRAY(SELECT o.product_id FROM kavach_polar_orders o WHERE o.user_id = u.id AND o.billing_reason = '" + Billing.BillingStore.PurchaseReason
        + "' AND o.product_id IS NOT NULL AND o.status IN ('" + string.Join("', '", Billing.BillingStore.PurchasedStatuses) + "')) "
        + "FROM kavach_users u WHERE u.id = $1";

    private async Task<CachedUser> QueryAsync(KavachDbScope store, string userId, CancellationToken ct)
    {
        if (await store.OpenDirectAsync(ct).ConfigureAwait(false) is { } connection)
        {
            return await store.QueryDirectAsync(connection, DirectSql, userId, ReadRow, ct).ConfigureAwait(false)
                ?? new CachedUser(null, [], [], PurchasedProducts: []);
        }

        await store.OpenAsync(ct).ConfigureAwait(false);
        var row = await _query(store.Db, userId, ct).ConfigureAwait(false);
        return row is null
            ? new CachedUser(null, [], [], PurchasedProducts: [])
            : new CachedUser(SubscriptionProjection.Read(row.User), row.Entitled, Distinct(row.Benefits), PurchasedProducts: Distinct(row.Purchases));
    }

    /// <summary>A row of <see cref="DirectSql"/>, read as <see cref="SubscriptionProjection.Read"/> reads a <see cref="KavachUser"/>.</summary>
    private static CachedUser ReadRow(System.Data.Common.DbDataReader r) => new(
        r.IsDBNull(0)
            ? null
            : new KavachSubscription
            {
                Id = r.GetString(0),
                Status = r.IsDBNull(1) ? "" : r.GetString(1),
                ProductId = r.IsDBNull(2) ? "" : r.GetString(2),
                CurrentPeriodEnd = r.IsDBNull(3) ? null : r.GetFieldValue<DateTimeOffset>(3),
                CancelAtPeriodEnd = r.GetBoolean(4),
                ScheduledChange = SubscriptionProjection.ScheduledChange(
                    r.IsDBNull(5) ? null : r.GetString(5),
                    r.IsDBNull(6) ? null : r.GetFieldValue<DateTimeOffset>(6)),
            },
        r.GetFieldValue<string[]>(7),
        Distinct(r.GetFieldValue<string[]>(8)),
        PurchasedProducts: Distinct(r.GetFieldValue<string[]>(9)));

    /// <summary><paramref name="values"/> without repeats, in their order; the same array when it has none (the usual case).</summary>
    internal static string[] Distinct(string[] values)
    {
        for (var i = 1; i < values.Length; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(values[i], values[j], StringComparison.Ordinal))
                {
                    return [.. values.Distinct(StringComparer.Ordinal)];
                }
            }
        }

        return values;
    }

    private sealed class UserState
    {
        public required KavachUser User { get; init; }

        public required string[] Entitled { get; init; }

        public required string[] Benefits { get; init; }

        public required string[] Purchases { get; init; }
    }
}
