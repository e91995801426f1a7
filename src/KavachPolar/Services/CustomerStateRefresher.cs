using KavachPolar.Benefits;
using KavachPolar.Billing;
using KavachPolar.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Services;

/// <summary>
/// Reconciles a customer's grants (<see cref="BenefitReconciler"/>) when a <c>customer.state_changed</c> names granted
/// benefits other than those the stored grants hold; an equal state (a meter recompute, a duplicate) asks Polar nothing.
/// </summary>
internal sealed class CustomerStateRefresher(
    CustomerStateTriggers triggers,
    BillingStore billing,
    IServiceScopeFactory scopes,
    ILogger<CustomerStateRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (customerId, benefitIds) in triggers.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RefreshAsync(customerId, benefitIds, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    Log.CustomerStateRefreshFailed(logger, customerId, e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task RefreshAsync(string customerId, string[] benefitIds, CancellationToken ct)
    {
        if (await billing.IsForgottenCustomerAsync(customerId, ct).ConfigureAwait(false))
        {
            return;
        }

        var stored = await billing.HeldByCustomerAsync(customerId, ct).ConfigureAwait(false);
        if (new HashSet<string>(stored, StringComparer.Ordinal).SetEquals(benefitIds))
        {
            return;
        }

        // Polar's typed client from a scope of its own, as every Polar call outside a request gets it.
        await using var scope = scopes.CreateAsyncScope();
        var reconciler = scope.ServiceProvider.GetRequiredService<BenefitReconciler>();
        if (await reconciler.ReconcileCustomerAsync(customerId, ct).ConfigureAwait(false) is { } error)
        {
            Log.CustomerStateRefreshFailed(logger, customerId, error.Kind.ToString());
        }
    }
}
