using KavachPolar.Benefits;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Reads a user's benefits for the gate, <c>GET benefits</c> and <see cref="IKavachPolarEntitlements"/>: which benefits
/// the user holds comes with the user's cached state (<see cref="SubscriptionReader"/>, one query); the grants behind
/// them are read once and kept in the same cache entry, so both are forgotten together on a change.
/// </summary>
internal sealed class BenefitReader(KavachStore store, SubscriptionCache cache, SubscriptionReader reader, IOptionsMonitor<KavachPolarOptions> options)
{
    /// <summary>Whether the user holds one of <paramref name="benefits"/> (resolved ids).</summary>
    public async Task<bool> HoldsAnyAsync(string userId, IReadOnlyCollection<string> benefits, CancellationToken ct)
    {
        var state = await reader.LoadAsync(userId, ct).ConfigureAwait(false);
        var held = state.HeldBenefits ?? [];
        foreach (var b in benefits)
        {
            if (Array.IndexOf(held, b) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The benefits the user holds, with their grants.</summary>
    public async Task<IReadOnlyList<KavachBenefit>> GetAsync(string userId, CancellationToken ct)
    {
        // Taken before the state is read: a change committed after it keeps what is read below out of the cache.
        var stamp = cache.Stamp(userId);
        var state = await reader.LoadAsync(userId, ct).ConfigureAwait(false);
        if (state.HeldBenefits is not { Length: > 0 })
        {
            return [];
        }

        if (state.BenefitDetails is { } details)
        {
            return details;
        }

        var grants = await store.RunHotAsync(
            options.CurrentValue.DatabaseTimeout,
            async (s, t) =>
            {
                await s.OpenAsync(t).ConfigureAwait(false);
                return await s.Db.Set<BenefitGrantRecord>().AsNoTracking()
                    .Where(g => g.UserId == userId && g.GrantedAt != null)
                    .ToListAsync(t)
                    .ConfigureAwait(false);
            },
            ct).ConfigureAwait(false);
        var read = BenefitHoldings.Of(grants);
        cache.Replace(userId, state, state with { BenefitDetails = read }, stamp);
        return read;
    }

    /// <summary>The benefit ids <paramref name="names"/> resolve to (ids or slugs); names that resolve to none are left out.</summary>
    public IReadOnlyList<string> Resolve(IEnumerable<string> names)
    {
        var settings = options.CurrentValue;
        return [.. names.Select(n => BenefitNames.Resolve(n, settings)).OfType<string>().Distinct(StringComparer.Ordinal)];
    }
}
