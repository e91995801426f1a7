using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Callbacks;

/// <summary>
/// The host's handlers of a benefit change: the <c>OnBenefitChange</c> delegate and the registered
/// <see cref="IKavachBenefitChangeHandler"/> services. Benefit changes wait in <c>kavach_polar_callbacks</c> beside
/// subscription changes, marked <c>"kind":"benefit"</c> in the stored change (<see cref="BenefitCallback"/>).
/// </summary>
internal sealed class BenefitChangeHandlers(IOptionsMonitor<KavachPolarOptions> options, IServiceScopeFactory scopes, IServiceProvider services) : IChangeHandlers
{
    private readonly bool _services = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IKavachBenefitChangeHandler)) == true;

    /// <inheritdoc />
    public string Kind => CallbackKinds.Benefit;

    /// <summary>Whether this process handles benefit changes.</summary>
    public bool Any => _services || options.CurrentValue.OnBenefitChange is not null;

    public async Task InvokeAsync(KavachBenefitChange change, CancellationToken ct)
    {
        if (options.CurrentValue.OnBenefitChange is { } callback)
        {
            await callback(change, ct).ConfigureAwait(false);
        }

        if (_services)
        {
            await using var scope = scopes.CreateAsyncScope();
            foreach (var handler in scope.ServiceProvider.GetServices<IKavachBenefitChangeHandler>())
            {
                await handler.HandleAsync(change, ct).ConfigureAwait(false);
            }
        }
    }
}
