using System.Collections.Concurrent;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>
/// The system clock, except that every timer records the delay it was asked for and then fires at once: retry
/// schedules can be read without waiting them out.
/// </summary>
public sealed class RecordingTimeProvider : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _requested = new();

    /// <summary>Every timer delay requested so far, in request order.</summary>
    public IReadOnlyList<TimeSpan> Requested => [.. _requested];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _requested.Enqueue(dueTime);
        return System.CreateTimer(callback, state, TimeSpan.Zero, period);
    }
}
