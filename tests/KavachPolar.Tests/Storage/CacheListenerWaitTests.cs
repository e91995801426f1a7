using KavachPolar.Storage.Cache;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// The listener's waits for notifications: Npgsql's <c>WaitAsync</c> reads 0 ms as "wait for good", so no wait the
/// listener means to end may reach it as 0.
/// </summary>
public sealed class CacheListenerWaitTests
{
    [Theory]
    [InlineData(0.0004, 1)] // the case that hung: less than a millisecond left before the probe was due
    [InlineData(0.0, 1)]
    [InlineData(-5.0, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.2, 2)]
    [InlineData(2_000.0, 2_000)]
    public void A_wait_is_at_least_a_millisecond_and_never_shorter_than_asked(double milliseconds, int expected) =>
        Assert.Equal(expected, CacheListener.WaitMilliseconds(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void A_wait_longer_than_an_int_holds_is_the_longest_one_that_ends() =>
        Assert.Equal(int.MaxValue, CacheListener.WaitMilliseconds(TimeSpan.FromDays(30)));
}
