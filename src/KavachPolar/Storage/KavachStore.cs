using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Storage;

/// <summary>
/// Runs the units of database work of the user routes, the gate and <see cref="IKavachPolarSubscriptions"/>: each on
/// a DbContext and connection of its own, waited for at most <see cref="KavachPolarOptions.DatabaseTimeout"/>
/// (see <see cref="StoreBudget"/>).
/// </summary>
internal sealed class KavachStore(IServiceScopeFactory scopes, IOptionsMonitor<KavachPolarOptions> options)
{
    public Task<T> RunAsync<T>(Func<KavachDbScope, CancellationToken, Task<T>> work, CancellationToken ct) =>
        StoreBudget.RunAsync(scopes, options.CurrentValue.DatabaseTimeout, work, ct);
}
