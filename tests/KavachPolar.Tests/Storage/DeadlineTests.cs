using KavachPolar.Storage;

namespace KavachPolar.Tests.Storage;

/// <summary>
/// A database budget cancels its token on a timer. With <c>CancelAfter</c>, a token callback that throws (Npgsql's own
/// cancellation did, with a NullReferenceException, in a clean-clone run under load) is unhandled on the timer's thread and
/// ends the process; <see cref="Deadline"/> cancels the same way and keeps the exception from escaping.
/// </summary>
public sealed class DeadlineTests
{
    [Fact]
    public async Task A_token_callback_that_throws_at_the_deadline_does_not_escape_and_the_token_is_cancelled()
    {
        using var source = new CancellationTokenSource();
        var after = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.Token.Register(() => throw new InvalidOperationException("a driver's cancellation callback failed"));
        source.Token.Register(() => after.TrySetResult());
        using var deadline = Deadline.Cancel(source, TimeSpan.FromMilliseconds(20));

        await after.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.True(source.IsCancellationRequested);
    }

    [Fact]
    public void Firing_catches_what_the_callbacks_throw_and_a_source_already_disposed()
    {
        var source = new CancellationTokenSource();
        source.Token.Register(() => throw new InvalidOperationException("callback"));
        Deadline.Fire(source); // with CancellationTokenSource.Cancel() this throws AggregateException
        Assert.True(source.IsCancellationRequested);

        var disposed = new CancellationTokenSource();
        disposed.Dispose();
        Deadline.Fire(disposed);
        Assert.Throws<ObjectDisposedException>(disposed.Cancel);
        source.Dispose();
    }

    [Fact]
    public async Task A_deadline_disposed_before_it_comes_cancels_nothing()
    {
        using var source = new CancellationTokenSource();
        Deadline.Cancel(source, TimeSpan.FromMilliseconds(50)).Dispose();

        await Task.Delay(TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken); // the deadline that must not come

        Assert.False(source.IsCancellationRequested);
    }
}
