using KavachPolar.Authorization;
using Microsoft.AspNetCore.Authorization;

namespace KavachPolar;

/// <summary>
/// Only users who hold at least one of the benefits (Polar benefit ids, or slugs of <c>KavachPolar:Benefits</c>) reach
/// the page, controller or action: <c>[RequireBenefit("downloads")]</c>. Anonymous users get the host's challenge;
/// signed-in users without get 403 problem <c>benefit_required</c> (a browser page request: the host's forbidden
/// handling). The same as <c>RequireBenefit(...)</c> on an endpoint; it reads this app's database only, never Polar.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class RequireBenefitAttribute : AuthorizeAttribute, IAuthorizationRequirementData
{
    /// <summary>Requires one of <paramref name="benefits"/>.</summary>
    /// <param name="benefits">Benefit ids or slugs; at least one.</param>
    public RequireBenefitAttribute(params string[] benefits)
    {
        ArgumentNullException.ThrowIfNull(benefits);
        if (benefits.Length == 0 || benefits.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one benefit id or slug, none empty.", nameof(benefits));
        }

        Benefits = [.. benefits];
    }

    /// <summary>The benefits, as given.</summary>
    public IReadOnlyList<string> Benefits { get; }

    /// <inheritdoc />
    public IEnumerable<IAuthorizationRequirement> GetRequirements() => [new BenefitRequirement(Benefits)];
}
