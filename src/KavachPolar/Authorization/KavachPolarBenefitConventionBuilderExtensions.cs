using KavachPolar.Authorization;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Gates endpoints on the benefits the signed-in user holds.</summary>
public static class KavachPolarBenefitConventionBuilderExtensions
{
    /// <summary>
    /// Only users who hold at least one of <paramref name="benefits"/> (Polar benefit ids, or slugs of
    /// <c>KavachPolar:Benefits</c>) reach the endpoint or group: any of their grants of it is granted (a failed grant does
    /// not count; a revoked grant does not end access while another holds the benefit). Anonymous users get the host's
    /// challenge (401); signed-in users without get 403 problem <c>benefit_required</c>, or the host's forbidden handling
    /// for a browser page request. It reads this app's database (the read cache) only, never Polar.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">An endpoint or a route group.</param>
    /// <param name="benefits">Benefits that qualify; at least one.</param>
    /// <returns>The builder.</returns>
    public static TBuilder RequireBenefit<TBuilder>(this TBuilder builder, params string[] benefits)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(benefits);
        if (benefits.Length == 0 || benefits.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one benefit id or slug, none empty.", nameof(benefits));
        }

        return builder.RequireAuthorization(BenefitRequirement.Policy([.. benefits]));
    }
}
