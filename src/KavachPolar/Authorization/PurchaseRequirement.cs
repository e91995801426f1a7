using KavachPolar.Diagnostics;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Authorization;

/// <summary>
/// A paid one-time order (status <c>paid</c> or <c>partially_refunded</c>) of at least one of <see cref="Products"/>
/// (product ids or slugs of <c>KavachPolar:Products</c>), decided like a subscription from the user's state
/// (<see cref="EntitlementAuthorizationHandler"/>). A name that is neither is bought by nobody, and logged once (1223)
/// when it refuses someone.
/// </summary>
internal sealed class PurchaseRequirement(IReadOnlyList<string> products) : EntitlementRequirement
{
    // The product ids the names resolve to under the options instance they were resolved with: a request resolves
    // nothing and allocates nothing, and a configuration reload is followed at once.
    private Resolved? _resolved;
    private int _unknownWarned;

    public IReadOnlyList<string> Products { get; } = products;

    public override string RefusalCode => KavachPolarErrorCodes.PurchaseRequired;

    /// <summary>Signed in (anonymous users get the host's challenge) and having bought one of the products.</summary>
    public static AuthorizationPolicy Policy(IReadOnlyList<string> products) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new PurchaseRequirement(products)).Build();

    public override bool IsMetBy(CachedUser state, KavachPolarOptions options)
    {
        if (state.PurchasedProducts is not { Length: > 0 } bought)
        {
            return false;
        }

        var ids = ResolveFor(options).Ids;
        for (var i = 0; i < ids.Length; i++)
        {
            for (var j = 0; j < bought.Length; j++)
            {
                if (string.Equals(bought[j], ids[i], StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    public override void ExplainRefusal(ILogger logger, KavachPolarOptions options)
    {
        if (ResolveFor(options).AnyUnknown && Interlocked.Exchange(ref _unknownWarned, 1) == 0)
        {
            Log.UnknownProductName(logger, string.Join(", ", Products));
        }
    }

    private Resolved ResolveFor(KavachPolarOptions options)
    {
        var resolved = Volatile.Read(ref _resolved);
        if (resolved is null || !ReferenceEquals(resolved.Options, options))
        {
            var ids = Products.Select(n => Services.Products.IdOf(n, options)).ToArray();
            resolved = new Resolved(options, [.. ids.OfType<string>().Distinct(StringComparer.Ordinal)], ids.Any(id => id is null));
            Volatile.Write(ref _resolved, resolved);
        }

        return resolved;
    }

    private sealed record Resolved(KavachPolarOptions Options, string[] Ids, bool AnyUnknown);
}
