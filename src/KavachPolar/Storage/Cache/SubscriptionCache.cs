using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
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
/// 30 s later, which had a gated endpoint under load queue for the pool at every expiry. An entry read at least once
/// since it was cached is also read again by the sweep before it expires (see <see cref="KeepWarm"/>), so a user who
/// comes back within one more life finds it still there; one who does not costs one more read, then expires.
/// </remarks>
internal sealed class SubscriptionCache : IDisposable
{
    private const int Stripes = 1024;

    /// <summary>How many users an instance keeps at most (a sweep then drops the quarter closest to expiry).</summary>
    internal const int DefaultMaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly long[] _generations = new long[Stripes];
    private readonly IOptionsMonitor<KavachPolarOptions> _options;
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private readonly ITimer _timer;
    private TimeSpan _sweepPeriod;
    private long _hearingUntil; // a TimeProvider timestamp; 0: not hearing
    private volatile bool _crossInstance;
    private int _storedSinceSweep;
    private int _countAtSweep;
    private int _sweeping;
    private int _sweeps;

    public SubscriptionCache(IOptionsMonitor<KavachPolarOptions> options, TimeProvider time)
        : this(options, time, DefaultMaxEntries)
    {
    }

    internal SubscriptionCache(IOptionsMonitor<KavachPolarOptions> options, TimeProvider time, int maxEntries)
    {
        _options = options;
        _time = time;
        _maxEntries = maxEntries;
        _sweepPeriod = SweepPeriod(options.CurrentValue.ReadCacheExpiry);
        using (ExecutionContext.SuppressFlow())
        {
            // The sweep's reads are nobody's: they must not carry the activity or scope of whoever first resolved the cache.
            _timer = time.CreateTimer(static cache => ((SubscriptionCache)cache!).OnTimer(), this, _sweepPeriod, _sweepPeriod);
        }
    }

    /// <summary>
    /// Given the users whose entries the sweep found due to be read again (read at least once since they were cached,
    /// and at their refresh point or expiring before the next sweep), each claimed for that read: the reader reads them
    /// in the background and caches what it reads (<see cref="Set"/>).
    /// </summary>
    internal Action<List<string>>? KeepWarm { get; set; }

    /// <summary>How many entries are held, serving or not (for tests and diagnostics).</summary>
    internal int Count => _entries.Count;

    /// <summary>How many sweeps ran (for tests and diagnostics).</summary>
    internal int Sweeps => Volatile.Read(ref _sweeps);

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

    /// <summary>
    /// The user's cached state, if any may be served now, without counting as a read of it (for tests and diagnostics:
    /// it neither keeps the entry warm nor reads it again).
    /// </summary>
    public bool TryGet(string userId, [NotNullWhen(true)] out CachedUser? value)
    {
        value = TryFind(userId, out var entry, out _) ? entry.Value : null;
        return value is not null;
    }

    /// <summary>
    /// The user's cached state, if any may be served now; <paramref name="refresh"/> is true for the one caller that
    /// should read the user again in the background (the entry is past its refresh point, and nobody else is reading it
    /// again), and then <see cref="Set"/> it with a <see cref="Stamp"/> taken before the read.
    /// </summary>
    public bool TryGet(string userId, [NotNullWhen(true)] out CachedUser? value, out bool refresh)
    {
        refresh = false;
        if (!TryFind(userId, out var entry, out var now))
        {
            value = null;
            return false;
        }

        if (entry.Read == 0)
        {
            entry.Read = 1; // written once a life: read by the sweep, never contended after
        }

        value = entry.Value;
        refresh = now >= entry.RefreshFrom && Interlocked.Exchange(ref entry.Refreshing, 1) == 0;
        return true;
    }

    /// <summary>The user's entry when the cache serves and it has not expired at <paramref name="now"/>.</summary>
    private bool TryFind(string userId, [NotNullWhen(true)] out Entry? entry, out long now)
    {
        now = 0;
        if (Serving && _entries.TryGetValue(userId, out entry))
        {
            now = _time.GetTimestamp();
            if (now < entry.ExpiresAt)
            {
                return true;
            }
        }

        entry = null;
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
        Store(userId, new Entry(value, now + RefreshAfter(life), now + life), stamp);
    }

    /// <summary>
    /// Keeps <paramref name="replacement"/>, <paramref name="current"/> with more read into it, for what is left of
    /// <paramref name="current"/>'s life when it is the entry cached: the state was read when <paramref name="current"/>
    /// was, and must not outlive it. Otherwise as <see cref="Set"/>.
    /// </summary>
    public void Replace(string userId, CachedUser current, CachedUser replacement, long stamp)
    {
        if (Serving && _entries.TryGetValue(userId, out var entry) && ReferenceEquals(entry.Value, current))
        {
            var left = entry.ExpiresAt - _time.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            var kept = new Entry(replacement, entry.RefreshFrom, entry.ExpiresAt) { Refreshing = Volatile.Read(ref entry.Refreshing), Read = Volatile.Read(ref entry.Read) };
            Store(userId, kept, stamp);
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
        _entries.TryRemove(userId, out _);
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

        _entries.Clear();
    }

    public void Dispose()
    {
        _timer.Dispose();
        _entries.Clear();
    }

    /// <summary>
    /// Caches <paramref name="entry"/>, then drops it if a change to the user was committed while it was read
    /// (<see cref="Invalidate(string?)"/> bumps the stripe's stamp, then removes): what was read may be older.
    /// </summary>
    private void Store(string userId, Entry entry, long stamp)
    {
        // Only a user not held yet counts towards the bound: a refresh that replaces an entry must not trigger sweeps.
        var added = _entries.TryAdd(userId, entry);
        if (!added)
        {
            _entries[userId] = entry;
        }

        if (Volatile.Read(ref _generations[Stripe(userId)]) != stamp)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(userId, entry));
        }

        if (added && Volatile.Read(ref _countAtSweep) + Interlocked.Increment(ref _storedSinceSweep) > _maxEntries
            && Interlocked.CompareExchange(ref _sweeping, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static cache => cache.Sweep(), this, preferLocal: false);
        }
    }

    /// <summary>The sweep's tick (a timer on the host's clock, every <see cref="SweepPeriod"/>), unless one runs already.</summary>
    private void OnTimer()
    {
        if (Interlocked.CompareExchange(ref _sweeping, 1, 0) == 0)
        {
            Sweep();
        }
    }

    /// <summary>
    /// How often the sweep runs: a tenth of an entry's life (at most 10 s, at least 1 s). Fine enough that an entry kept
    /// warm is read again close to its own refresh point (random per entry: the users cached in one second are not all
    /// read again in the same sweep), and every entry is seen by a sweep while between half a period and a period and a
    /// half of its life is left.
    /// </summary>
    private static TimeSpan SweepPeriod(TimeSpan expiry) =>
        expiry <= TimeSpan.Zero ? TimeSpan.FromSeconds(10) : TimeSpan.FromTicks(Math.Clamp(expiry.Ticks / 10, TimeSpan.TicksPerSecond, 10 * TimeSpan.TicksPerSecond));

    /// <summary>
    /// Frees what no longer serves: every expired entry, each <see cref="SweepPeriod"/> or when the cache may be full; then, if it
    /// still holds more than its bound, the quarter of the bound closest to expiry. Hands the entries to keep warm to
    /// <see cref="KeepWarm"/>. Off any request.
    /// </summary>
    private void Sweep()
    {
        try
        {
            var now = _time.GetTimestamp();
            var period = SweepPeriod(_options.CurrentValue.ReadCacheExpiry);
            var soon = (long)(period.TotalSeconds * 1.5 * _time.TimestampFrequency);
            var keepWarm = KeepWarm is not null && Serving ? KeepWarm : null;
            List<string>? warm = null;
            Volatile.Write(ref _storedSinceSweep, 0);
            foreach (var (userId, entry) in _entries)
            {
                if (entry.ExpiresAt <= now)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(userId, entry));
                }
                else if (keepWarm is not null && Volatile.Read(ref entry.Read) != 0
                         && (now >= entry.RefreshFrom || entry.ExpiresAt - now <= soon)
                         && Interlocked.Exchange(ref entry.Refreshing, 1) == 0)
                {
                    (warm ??= []).Add(userId);
                }
            }

            var count = _entries.Count;
            if (count > _maxEntries)
            {
                var oldest = _entries.ToArray();
                Array.Sort(oldest, static (a, b) => a.Value.ExpiresAt.CompareTo(b.Value.ExpiresAt));
                foreach (var pair in oldest.AsSpan(0, Math.Min(oldest.Length, count - (_maxEntries - (_maxEntries / 4)))))
                {
                    _entries.TryRemove(pair);
                }

                count = _entries.Count;
            }

            Volatile.Write(ref _countAtSweep, count);
            Interlocked.Increment(ref _sweeps);
            if (period != _sweepPeriod)
            {
                _sweepPeriod = period; // ReadCacheExpiry changed at run time
                _timer.Change(period, period);
            }

            if (warm is not null)
            {
                keepWarm!(warm);
            }
        }
        catch (Exception)
        {
            // On a timer or pool thread, nothing may escape: options that fail validation after a reload, a timer
            // disposed with the host meanwhile. Entries still expire when read; the next sweep tries again.
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>
    /// When, in an entry's life of <paramref name="life"/> ticks, the first read of it starts reading it again: anywhere
    /// from half to nine tenths of it, at random, so that the users cached in one second (a load test's warm-up, a
    /// deploy) are read again over two fifths of the expiry instead of all at once, while a read near
    /// the end still finds it due.
    /// </summary>
    private static long RefreshAfter(long life) => (life / 2) + (long)(life * 0.4 * Random.Shared.NextDouble());

    /// <summary>A cached state, when to read it again (<see cref="RefreshFrom"/>) and when to stop serving it (TimeProvider timestamps).</summary>
    private sealed class Entry(CachedUser value, long refreshFrom, long expiresAt)
    {
        public readonly CachedUser Value = value;
        public readonly long RefreshFrom = refreshFrom;
        public readonly long ExpiresAt = expiresAt;
        public int Refreshing;
        public int Read; // 1 once served from the cache
    }

    private static int Stripe(string userId) => (int)((uint)StringComparer.Ordinal.GetHashCode(userId) % Stripes);
}
