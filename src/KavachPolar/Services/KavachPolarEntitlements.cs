using KavachPolar.Benefits;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary><see cref="IKavachPolarEntitlements"/> over <see cref="BenefitReader"/>.</summary>
internal sealed class KavachPolarEntitlements(BenefitReader reader, IOptionsMonitor<KavachPolarOptions> options) : IKavachPolarEntitlements
{
    public Task<bool> HasBenefitAsync(string userId, string benefit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(benefit);
        var id = BenefitNames.Resolve(benefit, options.CurrentValue)
                 ?? throw new ArgumentException($"'{benefit}' is neither a Polar benefit id (a UUID) nor a slug of KavachPolar:Benefits.", nameof(benefit));
        return reader.HoldsAnyAsync(userId, [id], cancellationToken);
    }

    public Task<IReadOnlyList<KavachBenefit>> GetBenefitsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return reader.GetAsync(userId, cancellationToken);
    }
}
