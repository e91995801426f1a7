namespace KavachPolar.Storage.Cache;

/// <summary>
/// Failures in a row of one background loop (each end of <see cref="CacheChannel"/>): the first three are logged, then
/// one in sixty, so an outage that lasts says so without a line per attempt. A success ends the run.
/// </summary>
internal sealed class FailureRun
{
    private int _inARow;

    /// <summary>How many failures in a row so far, this one included, and whether to log this one.</summary>
    public (int InARow, bool Log) Fail()
    {
        var inARow = Interlocked.Increment(ref _inARow);
        return (inARow, inARow <= 3 || inARow % 60 == 0);
    }

    /// <summary>A success: the next failure starts a new run.</summary>
    public void End() => Volatile.Write(ref _inARow, 0);
}
