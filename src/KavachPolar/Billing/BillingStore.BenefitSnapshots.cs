using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Billing;

/// <summary>The billing store's benefit writes from Polar's list endpoint (reconcile).</summary>
internal sealed partial class BillingStore
{
    /// <summary>
    /// Applies every usable grant Polar lists for <paramref name="customerId"/> (<paramref name="listedIds"/>: all it listed) (all pages of <c>GET /v1/benefit-grants/</c>,
    /// read from <paramref name="readSince"/> on) in one transaction under the customer's lock, each behind its version
    /// guard, and deletes the customer's stored grants that Polar no longer lists (it lists every grant it keeps, granted
    /// or not: a missing one was deleted at Polar) unless they were written after <paramref name="readSince"/> (by a
    /// webhook that raced the read). Returns the (user, benefit) pairs whose hold changed.
    /// </summary>
    public async Task<int> ApplyCustomerGrantsAsync(string customerId, IReadOnlyCollection<PolarBenefitGrant> listed, IReadOnlySet<string> listedIds, DateTimeOffset readSince, CancellationToken ct)
    {
        var sourceTimestampUs = UnixTime.Microseconds(time.GetUtcNow());
        await kinds.ReadyAsync(ct).ConfigureAwait(false);
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var eventId = "reconcile:" + Guid.NewGuid().ToString("N");
        return await WriteAsync(
            touched,
            async (db, t) =>
            {
                await StoreTransactions.LockAsync(db, LockKeys.Customer(customerId), t).ConfigureAwait(false);
                var changes = 0;
                foreach (var g in listed.Where(g => g.CustomerId == customerId).OrderBy(g => g.CreatedAt).ThenBy(g => g.Id, StringComparer.Ordinal))
                {
                    changes += (await grants.ApplyAsync(db, g, sourceTimestampUs, eventId, "reconcile", t, touched).ConfigureAwait(false)).Changes;
                }

                var ids = listedIds.ToList();
                var gone = await db.Set<BenefitGrantRecord>()
                    .Where(g => g.CustomerId == customerId && !ids.Contains(g.Id) && g.UpdatedAt < readSince)
                    .ToListAsync(t)
                    .ConfigureAwait(false);
                changes += await grants.RemoveAsync(db, gone, eventId, "reconcile", touched, t).ConfigureAwait(false);
                await db.SaveChangesAsync(t).ConfigureAwait(false);
                return changes;
            },
            changes => (touched, changes),
            ct).ConfigureAwait(false);
    }

    /// <summary>The customers with stored grants, for the organization-wide reconcile.</summary>
    public Task<List<string>> GrantCustomersAsync(CancellationToken ct) =>
        store.RunAsync((s, t) => s.Db.Set<BenefitGrantRecord>().AsNoTracking().Select(g => g.CustomerId).Distinct().ToListAsync(t), ct);

    /// <summary>The benefit ids the customer's stored grants hold (granted), for <c>customer.state_changed</c>.</summary>
    public Task<List<string>> HeldByCustomerAsync(string customerId, CancellationToken ct) =>
        store.RunAsync(
            (s, t) => s.Db.Set<BenefitGrantRecord>().AsNoTracking()
                .Where(g => g.CustomerId == customerId && g.GrantedAt != null)
                .Select(g => g.BenefitId)
                .Distinct()
                .ToListAsync(t),
            ct);
}
