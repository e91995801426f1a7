using KavachPolar.Benefits;
using KavachPolar.Diagnostics;
using KavachPolar.Storage.Cache;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Authorization;

/// <summary>
/// Holds at least one of <see cref="Benefits"/> (benefit ids or slugs of <c>KavachPolar:Benefits</c>), decided like a
/// subscription from the user's state (<see cref="EntitlementAuthorizationHandler"/>). A name that is neither is held
/// by nobody, and logged once (1203) when it refuses someone.
/// </summary>
internal sealed class BenefitRequirement(IReadOnlyList<string> benefits) : EntitlementRequirement
{
    // The benefit ids the names resolve to under the options instance they were resolved with: the options change only
    // when the configuration reloads, so a request resolves nothing and allocates nothing.
    private Resolved? _resolved;
    private int _unknownWarned;

    public IReadOnlyList<string> Benefits { get; } = benefits;

    public override string RefusalCode => KavachPolarErrorCodes.BenefitRequired;

    /// <summary>Signed in (anonymous users get the host's challenge) and holding one of the benefits.</summary>
    public static AuthorizationPolicy Policy(IReadOnlyList<string> benefits) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().AddRequirements(new BenefitRequirement(benefits)).Build();

    public override bool IsMetBy(CachedUser state, KavachPolarOptions options)
    {
        if (state.HeldBenefits is not { Length: > 0 } held)
        {
            return false;
        }

        var ids = ResolveFor(options).Ids;
        for (var i = 0; i < ids.Length; i++)
        {
            if (Array.IndexOf(held, ids[i]) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    public override void ExplainRefusal(ILogger logger, KavachPolarOptions options)
    {
        if (ResolveFor(options).AnyUnknown && Interlocked.Exchange(ref _unknownWarned, 1) == 0)
        {
            Log.UnknownBenefitName(logger, string.Join(", ", Benefits));
        }
    }

    private Resolved ResolveFor(KavachPolarOptions options)
    {
        var resolved = Volatile.Read(ref _resolved);
        if (resolved is null || !ReferenceEquals(resolved.Options, options))
        {
            var ids = Benefits.Select(n => BenefitNames.Resolve(n, options)).ToArray();
            resolved = new Resolved(options, [.. ids.OfType<string>().Distinct(StringComparer.Ordinal)], ids.Any(id => id is null));
            Volatile.Write(ref _resolved, resolved);
        }

        return resolved;
    }

    private sealed record Resolved(KavachPolarOptions Options, string[] Ids, bool AnyUnknown);
}
