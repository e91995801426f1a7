using KavachPolar.Storage.Cache;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// The read cache's memory: entries that expired are freed by a sweep (every tenth of an entry's life on the host's clock), and the cache never keeps much more than its bound: past it, a sweep drops the quarter closest to expiry.
/// The sweep also hands the entries read in their life to be read again before they expire.
/// </summary>
public sealed class SubscriptionCacheBoundTests
{
    private static readonly CachedUser State = new(null, []);

    private static (SubscriptionCache Cache, FakeTimeProvider Clock) Create(int maxEntries)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new ServiceCollection().AddOptions().Configure<KavachPolarOptions>(o => o.ReadCacheExpiry = TimeSpan.FromSeconds(30))
            .BuildServiceProvider().GetRequiredService<IOptionsMonitor<KavachPolarOptions>>();
        return (new SubscriptionCache(options, clock, maxEntries), clock);
    }

    [Fact]
    public async Task Past_its_bound_the_cache_drops_the_entries_closest_to_expiry_and_keeps_the_newest()
    {
        var (cache, clock) = Create(maxEntries: 40);
        for (var i = 0; i < 100; i++)
        {
            cache.Set($"user-{i}", State, cache.Stamp($"user-{i}"));
            clock.Advance(TimeSpan.FromMilliseconds(10)); // each entry expires after the one before
        }

        await Wait.UntilAsync(() => Task.FromResult(cache.Count <= 40), because: "a sweep brings the cache back under its bound");
        Assert.True(cache.TryGet("user-99", out _), "the newest entry is kept");
        Assert.False(cache.TryGet("user-0", out _), "the oldest entry is dropped");
    }

    [Fact]
    public async Task Entries_read_again_do_not_count_towards_the_bound_and_trigger_no_sweep()
    {
        var (cache, _) = Create(maxEntries: 10);
        for (var round = 0; round < 50; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                cache.Set($"user-{i}", State, cache.Stamp($"user-{i}"));
            }
        }

        await Task.Delay(200, TestContext.Current.CancellationToken); // a sweep, had one been queued, would have run
        Assert.Equal(0, cache.Sweeps);
        Assert.Equal(10, cache.Count);
        cache.Set("user-10", State, cache.Stamp("user-10")); // one more user than the bound: now it sweeps
        await Wait.UntilAsync(() => Task.FromResult(cache.Sweeps == 1), because: "a user past the bound starts a sweep");
    }

    [Fact]
    public void An_entry_read_since_it_was_cached_is_handed_to_be_read_again_once_before_it_expires_and_one_never_read_is_not()
    {
        var (cache, clock) = Create(maxEntries: 1_000); // 30 s entries, swept every 3 s
        var handed = new List<(string User, TimeSpan At)>();
        var elapsed = TimeSpan.Zero;
        cache.KeepWarm = users => handed.AddRange(users.Select(u => (u, elapsed)));
        cache.Set("read", State, cache.Stamp("read"));
        cache.Set("unread", State, cache.Stamp("unread"));
        Assert.True(cache.TryGet("read", out _, out _)); // served once
        Assert.True(cache.TryGet("unread", out _)); // looked at only: not a read

        for (var second = 1; second <= 40; second++)
        {
            elapsed = TimeSpan.FromSeconds(second);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // Once, at the first sweep past its refresh point (random, from 15 s to 27 s of its 30 s), and before the
        // entry expired; the unread one never, and both are freed once expired.
        var (user, at) = Assert.Single(handed);
        Assert.Equal("read", user);
        Assert.InRange(at, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(29));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_sweep_that_fails_is_contained_and_the_next_one_runs()
    {
        // Options that fail validation after a reload throw from CurrentValue; the sweep runs on a timer thread, where
        // an exception would end the process.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new FailingOptions(new KavachPolarOptions { ReadCacheExpiry = TimeSpan.FromSeconds(30) });
        using var cache = new SubscriptionCache(options, clock, 1_000);
        cache.Set("user", State, cache.Stamp("user"));

        options.Failing = true;
        clock.Advance(TimeSpan.FromSeconds(3)); // a tick: the sweep fails inside
        Assert.Equal(0, cache.Sweeps);

        options.Failing = false;
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(1, cache.Sweeps);
    }

    [Fact]
    public async Task Expired_entries_are_freed_by_the_next_sweep_and_those_still_serving_are_kept()
    {
        var (cache, clock) = Create(maxEntries: 1_000);
        for (var i = 0; i < 20; i++)
        {
            cache.Set($"old-{i}", State, cache.Stamp($"old-{i}"));
        }

        clock.Advance(TimeSpan.FromSeconds(31)); // past the entries' 30 s, and past the sweep's 10 s
        cache.Set("new", State, cache.Stamp("new"));
        await Wait.UntilAsync(() => Task.FromResult(cache.Count == 1), because: "the sweep frees the expired entries");
        Assert.True(cache.TryGet("new", out _));
    }

    private sealed class FailingOptions(KavachPolarOptions value) : IOptionsMonitor<KavachPolarOptions>
    {
        public bool Failing { get; set; }

        public KavachPolarOptions CurrentValue => Failing ? throw new OptionsValidationException("", typeof(KavachPolarOptions), ["reloaded badly"]) : value;

        public KavachPolarOptions Get(string? name) => CurrentValue;

        public IDisposable? OnChange(Action<KavachPolarOptions, string?> listener) => null;
    }
}
