namespace KavachPolar.Storage.Cache;

/// <summary>
/// What this instance hears on <see cref="CacheChannel"/> that matters beyond the cache: that some process (this one,
/// another instance, a job) committed a change to users' subscription state, and whether announcements are heard at
/// all: from the first probe that came back on a listening connection until that connection fails or is found deaf.
/// Looser than <see cref="SubscriptionCache.Hearing"/>, which lapses when a probe is late: a late probe means late
/// announcements, which the cache must not trust, but they still arrive and wake the dispatcher. Every queued
/// callback is such a change, announced after its commit, so the callback dispatcher wakes on it instead of polling the
/// queue every second.
/// </summary>
internal sealed class HeardChanges
{
    private Action? _listeners;
    private volatile bool _hearing;

    /// <summary>Whether announcements from other processes reach this instance now.</summary>
    public bool Hearing => _hearing;

    /// <summary>The listener heard its own probe on its connection (true), or lost the connection or found it deaf (false).</summary>
    public void Listening(bool hearing) => _hearing = hearing;

    /// <summary>Calls <paramref name="wake"/> (which must return at once) for every announcement heard from now on.</summary>
    public void Subscribe(Action wake)
    {
        Action? seen, combined;
        do
        {
            seen = Volatile.Read(ref _listeners);
            combined = (Action?)Delegate.Combine(seen, wake);
        }
        while (Interlocked.CompareExchange(ref _listeners, combined, seen) != seen);
    }

    /// <summary>The listener heard an announcement (not its own probe).</summary>
    public void Heard() => Volatile.Read(ref _listeners)?.Invoke();
}
