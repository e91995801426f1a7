using KavachPolar.Authorization;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Gates endpoints on the signed-in user's subscription.</summary>
public static class KavachPolarEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Only users with an entitled subscription (active or trialing; one scheduled to cancel still counts) reach
    /// the endpoint or group, optionally only of one of <paramref name="products"/> (Polar product ids, or slugs of
    /// <c>KavachPolar:Products</c>). Anonymous users get the host's challenge (401); signed-in users without get
    /// 403 problem <c>subscription_required</c>, or the host's forbidden handling for a browser page request. It
    /// reads this app's database only, never Polar.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">An endpoint or a route group.</param>
    /// <param name="products">Products that qualify; none means any.</param>
    /// <returns>The builder.</returns>
    public static TBuilder RequireSubscription<TBuilder>(this TBuilder builder, params string[] products)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(products);
        if (products.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Product ids or slugs must not be empty.", nameof(products));
        }

        return builder.RequireAuthorization(SubscriptionRequirement.Policy([.. products]));
    }
}
