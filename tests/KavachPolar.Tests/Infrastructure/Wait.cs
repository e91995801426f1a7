using System.Diagnostics;
using Npgsql;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>Polls an asynchronous condition, e.g. a query against a database that may still be starting.</summary>
public static class Wait
{
    /// <summary>
    /// How long a test gives another instance to hear of a change. On a quiet machine it hears within milliseconds
    /// (the product's promise is a second, measured by the benchmarks, not asserted here); a loaded CI machine can
    /// stall a process for longer. Ten seconds still tells an announcement that arrived from one that did not: without
    /// it the instance keeps serving what it cached for <c>ReadCacheExpiry</c>, 30 s by default.
    /// </summary>
    public static readonly TimeSpan ForAnnouncement = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking it every <paramref name="interval"/> (default 50 ms); fails
    /// when a check finds it false after <paramref name="timeout"/> (default 30 s) has passed. <paramref name="describe"/>,
    /// when given, tells the failure message what state kept the condition from holding.
    /// </summary>
    public static async Task UntilAsync(
        Func<Task<bool>> condition,
        TimeSpan? timeout = null,
        string? because = null,
        TimeSpan? interval = null,
        Func<Task<string>>? describe = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (NpgsqlException)
            {
                // The database is not answering yet: keep polling until the deadline.
            }

            if (clock.Elapsed > limit)
            {
                var state = describe is null ? "" : " (" + await describe() + ")";
                Assert.Fail("Condition not met in time" + (because is null ? "" : ": " + because) + state);
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Waits until no callback is pending in <paramref name="db"/>: every change queued so far has been delivered to
    /// <c>OnSubscriptionChange</c>. Use it instead of sleeping before asserting that nothing more happened.
    /// </summary>
    public static Task ForOutboxToDrainAsync(PostgresDatabase db, CancellationToken ct) =>
        UntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", ct) == 0, because: "the callback outbox drains");
}
