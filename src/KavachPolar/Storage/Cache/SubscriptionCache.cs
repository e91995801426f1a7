using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace KavachPolar.Storage.Cache;

/// <summary>
/// A per-instance cache of each user's subscription state, for <c>GET subscription</c>, <c>IsEntitledAsync</c> and
/// the gate. Filled on read; emptied for a user right after this instance commits a change to them, and when another
/// instance's change is announced (PostgreSQL <c>NOTIFY</c>, see <see cref="CacheListener"/>); bounded
/// in size; every entry expires after <see cref="KavachPolarOptions.ReadCacheExpiry"/> as the safety net. On
/// PostgreSQL it serves only while the listener's latest probe came back recently enough (see <see cref="Heard"/>),
/// whether or not anything reported an error. With SQLite it serves the one process; with other providers, which
/// cannot announce changes to other instances, it stays off.
/// </summary>
internal sealed class SubscriptionCache : IDisposable
{
    private const int Stripes = 1024;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 100_000, CompactionPercentage = 0.25 });
    private readonly long[] _generations = new long[Stripes];
    private readonly IOptionsMonitor<KavachPolarOptions> _options;
    private readonly TimeProvider _time;
    private long _hearingUntil; // a TimeProvider timestamp; 0: not hearing
    private volatile bool _crossInstance;

    public SubscriptionCache(IOptionsMonitor<KavachPolarOptions> options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    /// <summary>Whether reads may be served from memory now.</summary>
    public bool Serving => _options.CurrentValue.ReadCacheExpiry > TimeSpan.Zero && (!_crossInstance || Hearing);

    /// <summary>Whether the listener's latest probe came back recently enough: announcements from other processes arrive (see <see cref="Heard"/>).</summary>
    public bool Hearing => _time.GetTimestamp() < Volatile.Read(ref _hearingUntil);

    /// <summary>
    /// Called by the listener each time its own probe came back: announcements arrive, so the cache may serve for
    /// <paramref name="validFor"/>, by when the next probe must have come back. A connection that dies without an
    /// error thus stops the cache all the same. When the cache was not serving, everything cached before is dropped
    /// first: announcements may have been missed meanwhile.
    /// </summary>
    public void Heard(TimeSpan validFor)
    {
        _crossInstance = true;
        if (!Hearing)
        {
            Clear();
        }

        Volatile.Write(ref _hearingUntil, _time.GetTimestamp() + (long)(validFor.TotalSeconds * _time.TimestampFrequency));
    }

    /// <summary>
    /// Called by the listener when announcements cannot be heard (its connection failed, or the provider has no way to
    /// announce): the cache stops serving until the next <see cref="Heard"/>.
    /// </summary>
    public void NotHearing()
    {
        _crossInstance = true;
        Volatile.Write(ref _hearingUntil, 0);
    }

    public bool TryGet(string userId, [NotNullWhen(true)] out CachedUser? value)
    {
        if (Serving && _cache.TryGetValue(userId, out CachedUser? hit) && hit is not null)
        {
            value = hit;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>The stamp to pass to <see cref="Set"/>: taken before reading the database.</summary>
    public long Stamp(string userId) => Volatile.Read(ref _generations[Stripe(userId)]);

    /// <summary>Keeps <paramref name="value"/> unless the user changed since <paramref name="stamp"/> was taken.</summary>
    public void Set(string userId, CachedUser value, long stamp)
    {
        var expiry = _options.CurrentValue.ReadCacheExpiry;
        if (expiry <= TimeSpan.Zero || !Serving)
        {
            return;
        }

        _cache.Set(userId, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = expiry });

        // A change committed while we read (Invalidate bumps the stamp, then removes): what we read may be older.
        if (Volatile.Read(ref _generations[Stripe(userId)]) != stamp)
        {
            _cache.Remove(userId);
        }
    }

    /// <summary>Forgets the user (after a commit that changed them, or an announcement from another instance).</summary>
    public void Invalidate(string? userId)
    {
        if (userId is null)
        {
            return;
        }

        Interlocked.Increment(ref _generations[Stripe(userId)]);
        _cache.Remove(userId);
    }

    public void Invalidate(IEnumerable<string> userIds)
    {
        foreach (var id in userIds)
        {
            Invalidate(id);
        }
    }

    public void Clear()
    {
        for (var i = 0; i < Stripes; i++)
        {
            Interlocked.Increment(ref _generations[i]);
        }

        _cache.Clear();
    }

    public void Dispose() => _cache.Dispose();

    private static int Stripe(string userId) => (int)((uint)StringComparer.Ordinal.GetHashCode(userId) % Stripes);
}
