using System.Runtime.ExceptionServices;
using KavachPolar.Callbacks;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// The wake-up a commit gives the dispatcher: one pending signal covers every commit before the worker looks, and a
/// commit that finds one pending adds nothing and throws nothing (under load that is nearly every commit: a thrown and
/// caught exception each, about 200 a second in a general-path load run).
/// </summary>
public sealed class WakeSignalTests
{
    [Fact]
    public async Task Many_notifications_before_the_worker_looks_are_one_wake_up()
    {
        using var signal = new CallbackSignal();
        for (var i = 0; i < 100; i++)
        {
            signal.Notify();
        }

        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), "the first wait should find the signal");
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken), "a hundred notifications are one wake-up, not several");

        signal.Notify();
        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), "a notification after the worker looked wakes it again");
    }

    [Fact]
    public void Notifying_a_signal_that_is_already_pending_throws_nothing()
    {
        using var signal = new CallbackSignal();
        var thread = Environment.CurrentManagedThreadId;
        var thrown = 0;
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (e.Exception is SemaphoreFullException && Environment.CurrentManagedThreadId == thread)
            {
                Interlocked.Increment(ref thrown);
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            for (var i = 0; i < 100; i++)
            {
                signal.Notify();
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.Equal(0, thrown);
    }
}
