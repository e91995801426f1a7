namespace KavachPolar.Storage.Cache;

/// <summary>
/// What this instance hears on <see cref="CacheChannel"/> that matters beyond the cache: that some process (this one,
/// another instance, a job) committed a change to users' subscription state, and whether announcements are heard at
/// all now (the listener's latest probe came back in time, see <see cref="SubscriptionCache.Hearing"/>). Every queued
/// callback is such a change, announced after its commit, so the callback dispatcher wakes on it instead of polling the
/// queue every second.
/// </summary>
internal sealed class HeardChanges(SubscriptionCache cache)
{
    private Action? _listeners;

    /// <summary>Whether announcements from other processes reach this instance now.</summary>
    public bool Hearing => cache.Hearing;

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
