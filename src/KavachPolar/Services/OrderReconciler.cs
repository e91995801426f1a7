using KavachPolar.Billing;
using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>
/// Brings orders back from Polar: every page of <c>GET /v1/orders/</c> (REFERENCE.md §9.8), for a customer or for the
/// whole organization, applied behind the version guard. Polar keeps every order, so nothing stored is removed.
/// </summary>
internal sealed class OrderReconciler(BillingStore billing, PolarApiClient api)
{
    /// <summary>Reconciles the orders of each of <paramref name="customerIds"/>; the first Polar error stops and is returned.</summary>
    public async Task<PolarApiError?> ReconcileCustomersAsync(IEnumerable<string> customerIds, CancellationToken ct)
    {
        foreach (var customerId in customerIds.Distinct(StringComparer.Ordinal))
        {
            var (orders, error) = await ReadAllAsync("customer_id", customerId, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }

            await billing.ApplyOrdersAsync(orders.Where(o => o.CustomerId == customerId), ct).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Reads and applies every order of the organization, page by page; returns how many were read and Polar's error.</summary>
    public async Task<(int Read, PolarApiError? Error)> ReconcileAllAsync(CancellationToken ct)
    {
        var read = 0;
        for (var page = 1; ; page++)
        {
            var result = await api.ListOrdersAsync("", null, page, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return (read, result.Error);
            }

            read += result.Value!.Items.Count;
            await billing.ApplyOrdersAsync(Usable(result.Value.Items), ct).ConfigureAwait(false);
            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                return (read, null);
            }
        }
    }

    private async Task<(List<PolarOrder> Orders, PolarApiError? Error)> ReadAllAsync(string filter, string value, CancellationToken ct)
    {
        var orders = new List<PolarOrder>();
        for (var page = 1; ; page++)
        {
            var result = await api.ListOrdersAsync(filter, value, page, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return (orders, result.Error);
            }

            orders.AddRange(Usable(result.Value!.Items));
            if (page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                return (orders, null);
            }
        }
    }

    private static IEnumerable<PolarOrder> Usable(IEnumerable<PolarOrder> orders) => orders.Where(o => Webhooks.OrderEvents.Validate(o) is null);
}
