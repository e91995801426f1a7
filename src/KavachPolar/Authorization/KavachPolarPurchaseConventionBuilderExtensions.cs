using KavachPolar.Authorization;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Gates endpoints on the one-time products the signed-in user has bought.</summary>
public static class KavachPolarPurchaseConventionBuilderExtensions
{
    /// <summary>
    /// Only users with a paid one-time order (status <c>paid</c> or <c>partially_refunded</c>) of at least one of
    /// <paramref name="products"/> (Polar product ids, or slugs of <c>KavachPolar:Products</c>) reach the endpoint or
    /// group: a partial refund keeps access, a full refund ends it. Anonymous users get the host's challenge (401);
    /// signed-in users without get 403 problem <c>purchase_required</c>, or the host's forbidden handling for a browser
    /// page request. It reads this app's database (the read cache) only, never Polar.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">An endpoint or a route group.</param>
    /// <param name="products">Products that qualify; at least one.</param>
    /// <returns>The builder.</returns>
    public static TBuilder RequirePurchase<TBuilder>(this TBuilder builder, params string[] products)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(products);
        if (products.Length == 0 || products.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one product id or slug, none empty.", nameof(products));
        }

        return builder.RequireAuthorization(PurchaseRequirement.Policy([.. products]));
    }
}
