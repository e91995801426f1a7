using Microsoft.Extensions.Hosting;

namespace KavachPolar.Testing;

/// <summary>
/// The emulator's host lifetime: starts and stops when told, and never listens for process signals. The default
/// <c>ConsoleLifetime</c> would take SIGTERM, SIGINT and SIGQUIT for itself (stopping only the emulator's server and
/// cancelling the process's own termination), which is wrong for a component embedded in a test run or an app.
/// </summary>
internal sealed class SignalFreeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
