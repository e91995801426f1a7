using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Health;

/// <summary>
/// Runs <see cref="PolarSelfCheck"/> once per start: in the background once the host has started (so it never delays
/// the start, and endpoints a host registers while starting are in place), or, with
/// <see cref="KavachPolarSelfCheckOptions.FailStartup"/>, during the start, failing it on an error. That run waits
/// for <see cref="StartedAsync"/>: only once the web host has started are the app's routes (the webhook path it
/// compares with Polar's endpoints) in the endpoint data source.
/// </summary>
internal sealed class PolarSelfCheckService(
    IServiceScopeFactory scopes,
    IOptionsMonitor<KavachPolarOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<PolarSelfCheck> logger) : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.SelfCheck;
        if (!settings.Enabled)
        {
            return;
        }

        if (!settings.FailStartup)
        {
            lifetime.ApplicationStarted.Register(() => _running = Task.Run(() => RunAsync(_stopping.Token)));
            return;
        }

        var errors = (await RunAsync(cancellationToken).ConfigureAwait(false)).Where(f => f.IsError).ToList();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                "KavachPolar's start-up self-check found " + errors.Count + " problem(s) and KavachPolar:SelfCheck:FailStartup is true: "
                + string.Join(" ", errors.Select(e => $"[{e.EventId}] {e.Text}")) + " The log lines with these event ids say how to fix each.");
        }
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task<IReadOnlyList<PolarSelfCheck.Finding>> RunAsync(CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var check = ActivatorUtilities.CreateInstance<PolarSelfCheck>(scope.ServiceProvider, scope.ServiceProvider.GetRequiredService<PolarApiClient>());
            return await check.RunAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Log.SelfCheckIncomplete(logger, $"{e.GetType().Name}: {e.Message}");
            return [];
        }
    }
}
