using KavachPolar.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Callbacks;

/// <summary>
/// In a host with handlers: declares the kinds of change it handles at start and then every
/// <see cref="CallbackKinds.DeclareEvery"/>, so that processes without handlers queue those changes for it
/// (<see cref="CallbackKinds"/>). Does nothing in a host without handlers, and never runs in a job that starts no host.
/// </summary>
internal sealed class CallbackKindDeclaration(CallbackKinds kinds, TimeProvider time, ILogger<CallbackKindDeclaration> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (kinds.HandledHere.Count == 0)
        {
            return;
        }

        var toldMissing = false;
        using var timer = new PeriodicTimer(CallbackKinds.DeclareEvery, time);
        do
        {
            try
            {
                if (!await kinds.DeclareAsync(stoppingToken).ConfigureAwait(false) && !toldMissing)
                {
                    toldMissing = true;
                    Log.HandledKindsTableMissing(logger);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.HandledKindsDeclareFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
