namespace KavachPolar.Testing.State;

/// <summary>
/// The emulator's business clock: the configured <see cref="TimeProvider"/> plus an offset that
/// <see cref="PolarEmulator.AdvanceTimeAsync"/> moves forward. Instants are truncated to microseconds,
/// the precision Polar stores and prints.
/// </summary>
internal sealed class EmulatorClock(TimeProvider transport)
{
    private long _offsetTicks;

    /// <summary>The clock used for transport concerns (webhook timestamps, retry delays).</summary>
    public TimeProvider Transport { get; } = transport;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public DateTimeOffset UtcNow => Truncate(Transport.GetUtcNow() + Offset);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);
}
