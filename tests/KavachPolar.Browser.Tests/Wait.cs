using System.Diagnostics;

namespace KavachPolar.Browser.Tests;

/// <summary>Polls a condition that another process (the sample's background sender, the emulator) makes true.</summary>
public static class Wait
{
    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking every 100 ms; fails after <paramref name="timeout"/>
    /// (default 30 s), adding what <paramref name="explain"/> says at that moment.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null, Func<string>? explain = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                Assert.Fail($"Still not true after {limit.TotalSeconds:0} s: {because}" + (explain is null ? "" : "\n" + explain()));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }
    }
}
