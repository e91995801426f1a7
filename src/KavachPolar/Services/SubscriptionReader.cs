using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Reads a user's subscription state for GET subscription, the gate and <see cref="IKavachPolarSubscriptions"/>:
/// from <see cref="SubscriptionCache"/>, or with one query (the user's row and the products of their entitled
/// subscriptions) bounded by <see cref="KavachPolarOptions.DatabaseTimeout"/>. A singleton with nothing else to
/// build per request.
/// </summary>
internal sealed class SubscriptionReader(KavachStore store, SubscriptionCache cache, IOptionsMonitor<KavachPolarOptions> options)
{
    public async Task<CachedUser> LoadAsync(string userId, CancellationToken ct)
    {
        if (cache.TryGet(userId, out var hit))
        {
            return hit!;
        }

        var stamp = cache.Stamp(userId);
        var loaded = await store.RunAsync((s, t) => QueryAsync(s.Db, userId, t), ct).ConfigureAwait(false);
        cache.Set(userId, loaded, stamp);
        return loaded;
    }

    /// <summary>Whether the user has an entitled subscription, of one of <paramref name="products"/> when given (ids or slugs).</summary>
    public async Task<bool> IsEntitledAsync(string userId, IReadOnlyCollection<string>? products, CancellationToken ct)
    {
        var state = await LoadAsync(userId, ct).ConfigureAwait(false);
        if (products is not { Count: > 0 })
        {
            return state.EntitledProducts.Length > 0;
        }

        var settings = options.CurrentValue;
        return products.Any(p => state.EntitledProducts.Contains(Products.Resolve(p, settings) ?? p, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The user's row and the products of their entitled subscriptions: one query, compiled once.</summary>
    private static readonly Func<DbContext, string, CancellationToken, Task<UserState?>> Query = EF.CompileAsyncQuery(
        (DbContext db, string userId, CancellationToken ct) => db.Set<KavachUser>().AsNoTracking()
            .Where(u => u.Id == userId)
            .Select(u => new UserState
            {
                User = u,
                Entitled = db.Set<SubscriptionRecord>()
                    .Where(r => r.UserId == u.Id && SubscriptionStatuses.Entitled.Contains(r.Status))
                    .Select(r => r.ProductId)
                    .ToArray(),
            })
            .FirstOrDefault());

    private static async Task<CachedUser> QueryAsync(DbContext db, string userId, CancellationToken ct)
    {
        var row = await Query(db, userId, ct).ConfigureAwait(false);
        return row is null ? new CachedUser(null, []) : new CachedUser(SubscriptionProjection.Read(row.User), row.Entitled);
    }

    private sealed class UserState
    {
        public required KavachUser User { get; init; }

        public required string[] Entitled { get; init; }
    }
}
