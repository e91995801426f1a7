namespace KavachPolar.Diagnostics;

/// <summary>
/// When the last webhook delivery whose signature verified arrived, as this instance knows it: its own deliveries,
/// and the newest one in the database when the silence monitor last looked. Read by the gauge
/// <c>kavach_polar.webhooks.since_last_verified</c>.
/// </summary>
internal sealed class WebhookDeliveryClock(TimeProvider time)
{
    private long _lastUtcTicks;

    public DateTimeOffset? Last => Interlocked.Read(ref _lastUtcTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>A delivery's signature verified now.</summary>
    public void Verified() => Observe(time.GetUtcNow());

    /// <summary>Moves the last delivery to <paramref name="at"/> when that is later than what is known.</summary>
    public void Observe(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        var current = Interlocked.Read(ref _lastUtcTicks);
        while (ticks > current)
        {
            var seen = Interlocked.CompareExchange(ref _lastUtcTicks, ticks, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Seconds since the last verified delivery, or null before any is known.</summary>
    public double? SecondsSinceLast() => Last is { } last ? Math.Max(0, (time.GetUtcNow() - last).TotalSeconds) : null;
}
