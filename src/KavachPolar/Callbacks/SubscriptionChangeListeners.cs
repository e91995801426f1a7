using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Callbacks;

/// <summary>Who listens to subscription changes: the options delegate and the registered handlers.</summary>
internal sealed class SubscriptionChangeListeners(IOptionsMonitor<KavachPolarOptions> options, IServiceScopeFactory scopes, IServiceProvider services)
{
    // Handlers registered through AddSubscriptionChangeHandler or directly in the container alike.
    private readonly bool _handlers = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IKavachSubscriptionChangeHandler)) == true;

    /// <summary>Whether changes need queuing at all.</summary>
    public bool Any => _handlers || options.CurrentValue.OnSubscriptionChange is not null;

    public async Task InvokeAsync(KavachSubscriptionChange change, CancellationToken ct)
    {
        if (options.CurrentValue.OnSubscriptionChange is { } callback)
        {
            await callback(change, ct).ConfigureAwait(false);
        }

        if (_handlers)
        {
            await using var scope = scopes.CreateAsyncScope();
            foreach (var handler in scope.ServiceProvider.GetServices<IKavachSubscriptionChangeHandler>())
            {
                await handler.HandleAsync(change, ct).ConfigureAwait(false);
            }
        }
    }
}
