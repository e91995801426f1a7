using KavachPolar.Services;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authorization;

namespace KavachPolar.Authorization;

/// <summary>An entitled subscription, of one of <see cref="Products"/> when there are any (ids or configured slugs).</summary>
internal sealed class SubscriptionRequirement(IReadOnlyList<string> products) : EntitlementRequirement
{
    // The product ids the slugs named under the options instance they were resolved with: the options change only when
    // the configuration reloads, so a request resolves nothing and allocates nothing, and a reload is followed at once.
    private ResolvedProducts? _resolved;

    public IReadOnlyList<string> Products { get; } = products;

    public override string RefusalCode => KavachPolarErrorCodes.SubscriptionRequired;

    /// <summary>Signed in (anonymous users get the host's challenge) and subscribed.</summary>
    public static AuthorizationPolicy Policy(IReadOnlyList<string> products) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new SubscriptionRequirement(products)).Build();

    public override bool IsMetBy(CachedUser state, KavachPolarOptions options)
    {
        if (Products.Count == 0)
        {
            return state.EntitledProducts.Length > 0;
        }

        var resolved = Volatile.Read(ref _resolved);
        if (resolved is null || !ReferenceEquals(resolved.Options, options))
        {
            resolved = new ResolvedProducts(options, Services.Products.ResolveAll(Products, options));
            Volatile.Write(ref _resolved, resolved);
        }

        return SubscriptionReader.HoldsAny(state, resolved.Ids);
    }

    private sealed record ResolvedProducts(KavachPolarOptions Options, string[] Ids);
}
