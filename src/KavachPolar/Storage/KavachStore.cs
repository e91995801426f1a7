using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KavachPolar.Storage;

/// <summary>
/// Runs KavachPolar's budgeted units of database work (the webhook, the user routes, the gate and
/// <see cref="IKavachPolarSubscriptions"/>): each on a <see cref="KavachDbScope"/> of its own, waited for at most a
/// budget (see <see cref="StoreBudget"/>).
/// </summary>
internal sealed class KavachStore(IServiceScopeFactory scopes, DirectPostgres direct, IOptionsMonitor<KavachPolarOptions> options)
{
    /// <summary>EF Core work: the DbContext's connection is opened first; <see cref="KavachPolarOptions.DatabaseTimeout"/>.</summary>
    public Task<T> RunAsync<T>(Func<KavachDbScope, CancellationToken, Task<T>> work, CancellationToken ct) =>
        StoreBudget.RunAsync(KavachDbScope.Open(scopes, direct), options.CurrentValue.DatabaseTimeout, openContext: true, work, ct);

    /// <summary>
    /// Hot-path work, which opens what it needs itself: a raw PostgreSQL connection when it can
    /// (<see cref="KavachDbScope.OpenDirectAsync"/>), else the DbContext.
    /// </summary>
    public Task<T> RunHotAsync<T>(TimeSpan budget, Func<KavachDbScope, CancellationToken, Task<T>> work, CancellationToken ct) =>
        StoreBudget.RunAsync(KavachDbScope.Open(scopes, direct), budget, openContext: false, work, ct);
}
