using KavachPolar.Benefits;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary><see cref="IKavachPolarEntitlements"/> over <see cref="BenefitReader"/> and <see cref="OrderReader"/>.</summary>
internal sealed class KavachPolarEntitlements(BenefitReader reader, OrderReader orders, IOptionsMonitor<KavachPolarOptions> options) : IKavachPolarEntitlements
{
    /// <summary>The most orders <see cref="GetOrdersAsync"/> returns at once.</summary>
    public const int MaxOrders = 1000;

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

    public Task<bool> HasPurchasedAsync(string userId, string product, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(product);
        var id = Products.IdOf(product, options.CurrentValue)
                 ?? throw new ArgumentException($"'{product}' is neither a Polar product id (a UUID) nor a slug of KavachPolar:Products.", nameof(product));
        return orders.HasPurchasedAsync(userId, id, cancellationToken);
    }

    public Task<IReadOnlyList<KavachOrder>> GetOrdersAsync(string userId, int limit = 50, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxOrders);
        return orders.GetAsync(userId, limit, cancellationToken);
    }
}
