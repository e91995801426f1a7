using System.Collections.Concurrent;
using KavachPolar.Polar;

namespace KavachPolar.Services;

/// <summary>
/// Whether a product is recurring, as Polar says (<c>GET /v1/products/{id}</c>, <c>is_recurring</c>), remembered per
/// instance: Polar refuses to change a product's recurring interval once it has non-legacy prices (<c>product/service.py</c>:
/// "Recurring interval cannot be changed."), so a one-time product stays one-time. Checkout asks only for a user who
/// already has a live subscription, where Polar's own rule (REFERENCE.md §8 item 14) lets one-time products through.
/// </summary>
internal sealed class ProductKinds(PolarApiClient api)
{
    private readonly ConcurrentDictionary<string, bool> _recurring = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="productId"/> is sold as a subscription, or Polar's error.</summary>
    public async Task<PolarResult<bool>> IsRecurringAsync(string productId, CancellationToken ct)
    {
        if (_recurring.TryGetValue(productId, out var known))
        {
            return PolarResult<bool>.Success(known);
        }

        var product = await api.GetProductAsync(productId, ct).ConfigureAwait(false);
        if (!product.IsSuccess)
        {
            return PolarResult<bool>.Failure(product.Error!);
        }

        _recurring[productId] = product.Value!.IsRecurring;
        return PolarResult<bool>.Success(product.Value.IsRecurring);
    }
}
