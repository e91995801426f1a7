namespace KavachPolar.Testing.Tests.Support;

/// <summary>A clock that moves one second forward every time it is read; timers stay real.</summary>
public sealed class SteppingTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _reads;

    public override DateTimeOffset GetUtcNow() => start.AddSeconds(Interlocked.Increment(ref _reads));
}
