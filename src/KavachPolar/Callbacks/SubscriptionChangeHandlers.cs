using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Callbacks;

/// <summary>
/// The host's handlers of a subscription change: the <c>OnSubscriptionChange</c> delegate and the registered
/// <see cref="IKavachSubscriptionChangeHandler"/> services. A callback (a <c>kavach_polar_callbacks</c> row) is one
/// change waiting for them; <see cref="CallbackDispatcher"/> runs it.
/// </summary>
internal sealed class SubscriptionChangeHandlers(IOptionsMonitor<KavachPolarOptions> options, IServiceScopeFactory scopes, IServiceProvider services) : IChangeHandlers
{
    // Handlers registered through AddSubscriptionChangeHandler or directly in the container alike.
    private readonly bool _services = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IKavachSubscriptionChangeHandler)) == true;

    /// <inheritdoc />
    public string Kind => CallbackKinds.Subscription;

    /// <summary>Whether this process handles subscription changes (whether they are queued is <see cref="CallbackKinds.Queues"/>).</summary>
    public bool Any => _services || options.CurrentValue.OnSubscriptionChange is not null;

    public async Task InvokeAsync(KavachSubscriptionChange change, CancellationToken ct)
    {
        if (options.CurrentValue.OnSubscriptionChange is { } callback)
        {
            await callback(change, ct).ConfigureAwait(false);
        }

        if (_services)
        {
            await using var scope = scopes.CreateAsyncScope();
            foreach (var handler in scope.ServiceProvider.GetServices<IKavachSubscriptionChangeHandler>())
            {
                await handler.HandleAsync(change, ct).ConfigureAwait(false);
            }
        }
    }
}
