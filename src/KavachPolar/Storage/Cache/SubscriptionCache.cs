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
/// <remarks>
/// An entry read in the second half of its life (from a point between half and nine tenths of it, at random) is read
/// again in the background while it keeps serving (see
/// <see cref="TryGet(string, out CachedUser?, out bool)"/>): a user who keeps coming back never waits for the database
/// again, and the users cached in one burst (a deploy, a warm-up, a marketing e-mail) do not all miss in the same second
/// 30 s later, which had a gated endpoint under load queue for the pool at every expiry.
/// </remarks>
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

    public bool TryGet(string userId, [NotNullWhen(true)] out CachedUser? value) => TryGet(userId, out value, out _);

    /// <summary>
    /// The user's cached state, if any may be served now; <paramref name="refresh"/> is true for the one caller that
    /// should read the user again in the background (the entry is past its refresh point, and nobody else is reading it
    /// again), and then <see cref="Set"/> it with a <see cref="Stamp"/> taken before the read.
    /// </summary>
    public bool TryGet(string userId, [NotNullWhen(true)] out CachedUser? value, out bool refresh)
    {
        refresh = false;
        if (Serving && _cache.TryGetValue(userId, out Entry? entry) && entry is not null)
        {
            var now = _time.GetTimestamp();
            if (now < entry.ExpiresAt)
            {
                value = entry.Value;
                refresh = now >= entry.RefreshFrom && Interlocked.Exchange(ref entry.Refreshing, 1) == 0;
                return true;
            }
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

        var now = _time.GetTimestamp();
        var life = (long)(expiry.TotalSeconds * _time.TimestampFrequency);
        Store(userId, new Entry(value, now + RefreshAfter(life), now + life), expiry, stamp);
    }

    /// <summary>
    /// Keeps <paramref name="replacement"/>, <paramref name="current"/> with more read into it, for what is left of
    /// <paramref name="current"/>'s life when it is the entry cached: the state was read when <paramref name="current"/>
    /// was, and must not outlive it. Otherwise as <see cref="Set"/>.
    /// </summary>
    public void Replace(string userId, CachedUser current, CachedUser replacement, long stamp)
    {
        if (Serving && _cache.TryGetValue(userId, out Entry? entry) && entry is not null && ReferenceEquals(entry.Value, current))
        {
            var left = entry.ExpiresAt - _time.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            var kept = new Entry(replacement, entry.RefreshFrom, entry.ExpiresAt) { Refreshing = Volatile.Read(ref entry.Refreshing) };
            Store(userId, kept, TimeSpan.FromSeconds(left / (double)_time.TimestampFrequency), stamp);
            return;
        }

        Set(userId, replacement, stamp);
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

    /// <summary>
    /// Caches <paramref name="entry"/>, then drops it if a change to the user was committed while it was read
    /// (<see cref="Invalidate(string?)"/> bumps the stripe's stamp, then removes): what was read may be older.
    /// </summary>
    private void Store(string userId, Entry entry, TimeSpan life, long stamp)
    {
        _cache.Set(userId, entry, Memory(life));
        if (Volatile.Read(ref _generations[Stripe(userId)]) != stamp)
        {
            _cache.Remove(userId);
        }
    }

    /// <summary>
    /// When, in an entry's life of <paramref name="life"/> ticks, the first read of it starts reading it again: anywhere
    /// from half to nine tenths of it, at random, so that the users cached in one second (a load test's warm-up, a
    /// deploy) are read again over two fifths of the expiry instead of all at once, while a read near
    /// the end still finds it due.
    /// </summary>
    private static long RefreshAfter(long life) => (life / 2) + (long)(life * 0.4 * Random.Shared.NextDouble());

    /// <summary>
    /// An entry's life is counted on the host's <see cref="TimeProvider"/> (<see cref="Entry.ExpiresAt"/>); MemoryCache's
    /// own expiry, on its system clock, only frees the memory of entries nobody reads, well after they stopped serving.
    /// </summary>
    private static MemoryCacheEntryOptions Memory(TimeSpan life) => new() { Size = 1, AbsoluteExpirationRelativeToNow = life + life + TimeSpan.FromSeconds(1) };

    /// <summary>A cached state, when to read it again (<see cref="RefreshFrom"/>) and when to stop serving it (TimeProvider timestamps).</summary>
    private sealed class Entry(CachedUser value, long refreshFrom, long expiresAt)
    {
        public readonly CachedUser Value = value;
        public readonly long RefreshFrom = refreshFrom;
        public readonly long ExpiresAt = expiresAt;
        public int Refreshing;
    }

    private static int Stripe(string userId) => (int)((uint)StringComparer.Ordinal.GetHashCode(userId) % Stripes);
}
