using Microsoft.AspNetCore.Authorization;

namespace KavachPolar.Authorization;

/// <summary>Holds at least one of <see cref="Benefits"/> (benefit ids or configured slugs).</summary>
internal sealed class BenefitRequirement(IReadOnlyList<string> benefits) : IAuthorizationRequirement
{
    public IReadOnlyList<string> Benefits { get; } = benefits;

    /// <summary>Signed in (anonymous users get the host's challenge) and holding one of the benefits.</summary>
    public static AuthorizationPolicy Policy(IReadOnlyList<string> benefits) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new BenefitRequirement(benefits)).Build();
}
