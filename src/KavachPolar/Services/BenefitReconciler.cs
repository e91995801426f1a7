using KavachPolar.Billing;
using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>
/// Brings a customer's grants, or the organization's, back from Polar: every page of <c>GET /v1/benefit-grants/</c>
/// (REFERENCE.md §9.6), applied behind the version guard; a stored grant Polar no longer lists is gone.
/// </summary>
internal sealed class BenefitReconciler(BillingStore billing, PolarApiClient api, TimeProvider time)
{
    /// <summary>Reconciles each of <paramref name="customerIds"/>; the first Polar error stops and is returned.</summary>
    public async Task<PolarApiError?> ReconcileCustomersAsync(IEnumerable<string> customerIds, CancellationToken ct)
    {
        foreach (var customerId in customerIds.Distinct(StringComparer.Ordinal))
        {
            if (await ReconcileCustomerAsync(customerId, ct).ConfigureAwait(false) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>Reads all of the customer's grants from Polar and applies them; returns Polar's error, or null.</summary>
    public async Task<PolarApiError?> ReconcileCustomerAsync(string customerId, CancellationToken ct)
    {
        // Before the first page: a grant written after this (a webhook racing the read) is never taken for gone.
        var since = time.GetUtcNow();
        var usable = new List<PolarBenefitGrant>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        for (var page = 1; ; page++)
        {
            var result = await api.ListBenefitGrantsAsync(customerId, page, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return result.Error;
            }

            foreach (var g in result.Value!.Items)
            {
                listed.Add(g.Id);
                if (Webhooks.BenefitEvents.Validate(g) is null)
                {
                    usable.Add(g);
                }
            }

            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                break;
            }
        }

        await billing.ApplyCustomerGrantsAsync(customerId, usable, listed, since, ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Reconciles every grant of the organization: all pages of <c>GET /v1/benefit-grants/</c> (no filter), then, per
    /// customer Polar listed or this app stores grants of, the listed grants applied and the unlisted ones removed, as
    /// <see cref="ReconcileCustomerAsync"/> does for one. Only the ids are kept across pages, with the usable grants of
    /// one customer at a time. Returns the grants read and the (user, benefit) changes; on a Polar error nothing is
    /// applied (a partial list would take unread grants for gone).
    /// </summary>
    public async Task<(int Read, int Changes, PolarApiError? Error)> ReconcileAllAsync(CancellationToken ct)
    {
        var since = time.GetUtcNow();
        var byCustomer = new Dictionary<string, (List<PolarBenefitGrant> Usable, HashSet<string> Listed)>(StringComparer.Ordinal);
        var read = 0;
        for (var page = 1; ; page++)
        {
            var result = await api.ListBenefitGrantsAsync(null, page, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return (read, 0, result.Error);
            }

            foreach (var g in result.Value!.Items)
            {
                read++;
                if (!byCustomer.TryGetValue(g.CustomerId, out var entry))
                {
                    entry = ([], new HashSet<string>(StringComparer.Ordinal));
                    byCustomer.Add(g.CustomerId, entry);
                }

                entry.Listed.Add(g.Id);
                if (Webhooks.BenefitEvents.Validate(g) is null)
                {
                    entry.Usable.Add(g);
                }
            }

            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                break;
            }
        }

        foreach (var stored in await billing.GrantCustomersAsync(ct).ConfigureAwait(false))
        {
            byCustomer.TryAdd(stored, ([], new HashSet<string>(StringComparer.Ordinal)));
        }

        var changes = 0;
        foreach (var (customerId, entry) in byCustomer)
        {
            changes += await billing.ApplyCustomerGrantsAsync(customerId, entry.Usable, entry.Listed, since, ct).ConfigureAwait(false);
        }

        return (read, changes, null);
    }
}
