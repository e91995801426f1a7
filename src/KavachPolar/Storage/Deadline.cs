namespace KavachPolar.Storage;

/// <summary>
/// Cancels a token source at a deadline without letting what the token's callbacks throw escape onto a timer thread.
/// <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/> runs the callbacks on the timer's thread, where an
/// exception is unhandled and ends the process; Npgsql's own cancellation callback has thrown there
/// (<c>NullReferenceException</c> in <c>NpgsqlConnector.PerformUserCancellationUnsynchronized</c>, in a clean-clone test
/// run under load on 2026-12-07, which ended the test process). Every callback still runs and the token is cancelled
/// either way; the command whose cancellation failed is left to finish or fail on its own, which the budgets already
/// allow for (the caller stops waiting at the deadline, see <see cref="StoreBudget"/>).
/// </summary>
internal sealed class Deadline : IDisposable
{
    private readonly Timer _timer;

    private Deadline(CancellationTokenSource source, TimeSpan after) =>
        _timer = new Timer(static s => Fire((CancellationTokenSource)s!), source, after, Timeout.InfiniteTimeSpan);

    /// <summary>Cancels <paramref name="source"/> after <paramref name="after"/>; dispose it (before the source) once the work ended.</summary>
    public static Deadline Cancel(CancellationTokenSource source, TimeSpan after) => new(source, after);

    public void Dispose() => _timer.Dispose();

    internal static void Fire(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (AggregateException)
        {
            // A callback threw; every other one ran and the token is cancelled.
        }
        catch (ObjectDisposedException)
        {
            // The work ended and disposed its source as the deadline came.
        }
    }
}
