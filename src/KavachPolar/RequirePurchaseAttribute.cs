using KavachPolar.Authorization;
using Microsoft.AspNetCore.Authorization;

namespace KavachPolar;

/// <summary>
/// Only users with a paid one-time order (status <c>paid</c> or <c>partially_refunded</c>) of at least one of the
/// products (Polar product ids, or slugs of <c>KavachPolar:Products</c>) reach the page, controller or action:
/// <c>[RequirePurchase("lifetime")]</c>. Anonymous users get the host's challenge; signed-in users without get 403
/// problem <c>purchase_required</c> (a browser page request: the host's forbidden handling). The same as
/// <c>RequirePurchase(...)</c> on an endpoint; it reads this app's database only, never Polar.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class RequirePurchaseAttribute : AuthorizeAttribute, IAuthorizationRequirementData
{
    /// <summary>Requires a purchase of one of <paramref name="products"/>.</summary>
    /// <param name="products">Product ids or slugs; at least one.</param>
    public RequirePurchaseAttribute(params string[] products)
    {
        ArgumentNullException.ThrowIfNull(products);
        if (products.Length == 0 || products.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one product id or slug, none empty.", nameof(products));
        }

        Products = [.. products];
    }

    /// <summary>The products, as given.</summary>
    public IReadOnlyList<string> Products { get; }

    /// <inheritdoc />
    public IEnumerable<IAuthorizationRequirement> GetRequirements() => [new PurchaseRequirement(Products)];
}
