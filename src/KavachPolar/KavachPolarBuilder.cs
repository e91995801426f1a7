using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace KavachPolar;

/// <summary>Returned by <c>AddKavachPolar</c>, to choose where KavachPolar's tables live.</summary>
/// <param name="services">The service collection KavachPolar was added to.</param>
public sealed class KavachPolarBuilder(IServiceCollection services)
{
    /// <summary>The service collection KavachPolar was added to.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>
    /// Keeps <c>kavach_users</c> and KavachPolar's other tables in the host's own
    /// <typeparamref name="TContext"/>, whose <c>OnModelCreating</c> must call
    /// <c>modelBuilder.ApplyKavachPolarModel()</c>. Without this call KavachPolar uses
    /// <see cref="KavachPolarDbContext"/>.
    /// </summary>
    /// <remarks>Safe to call more than once; the last call wins.</remarks>
    public KavachPolarBuilder AddEntityFrameworkStore<TContext>()
        where TContext : DbContext
    {
        Services.Replace(ServiceDescriptor.Scoped<IKavachDbContextAccessor, KavachDbContextAccessor<TContext>>());
        return this;
    }

    /// <summary>
    /// Registers <typeparamref name="THandler"/> (scoped) to receive every subscription change, as
    /// <see cref="KavachPolarOptions.OnSubscriptionChange"/> does, with constructor injection.
    /// </summary>
    /// <remarks>Safe to call more than once; each handler type is registered once.</remarks>
    public KavachPolarBuilder AddSubscriptionChangeHandler<THandler>()
        where THandler : class, IKavachSubscriptionChangeHandler
    {
        Services.TryAddEnumerable(ServiceDescriptor.Scoped<IKavachSubscriptionChangeHandler, THandler>());
        return this;
    }

    /// <summary>
    /// Registers <typeparamref name="THandler"/> (scoped) to receive every benefit change, as
    /// <see cref="KavachPolarOptions.OnBenefitChange"/> does, with constructor injection.
    /// </summary>
    /// <remarks>Safe to call more than once; each handler type is registered once.</remarks>
    public KavachPolarBuilder AddBenefitChangeHandler<THandler>()
        where THandler : class, IKavachBenefitChangeHandler
    {
        Services.TryAddEnumerable(ServiceDescriptor.Scoped<IKavachBenefitChangeHandler, THandler>());
        return this;
    }
}
