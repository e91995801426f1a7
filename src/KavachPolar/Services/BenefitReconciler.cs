using KavachPolar.Billing;
using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>
/// Brings a customer's grants back from Polar: every page of <c>GET /v1/benefit-grants/?customer_id=</c> (REFERENCE.md
/// §9.6), applied behind the version guard; a stored grant Polar no longer lists is gone.
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
}
