using Microsoft.AspNetCore.Authorization;

namespace KavachPolar.Authorization;

/// <summary>An entitled subscription, of one of <see cref="Products"/> when there are any (ids or configured slugs).</summary>
internal sealed class SubscriptionRequirement(IReadOnlyList<string> products) : IAuthorizationRequirement
{
    public IReadOnlyList<string> Products { get; } = products;

    /// <summary>Signed in (anonymous users get the host's challenge) and subscribed.</summary>
    public static AuthorizationPolicy Policy(IReadOnlyList<string> products) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new SubscriptionRequirement(products)).Build();
}
