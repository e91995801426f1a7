using KavachPolar.Callbacks;
using KavachPolar.Storage.Cache;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// The dispatcher polls rarely while it hears announcements, and every callback still runs promptly: its own instance's
/// commit signals it, another process's commit reaches it through <c>NOTIFY</c>, a retry it scheduled wakes it, and
/// behind a pooler in transaction mode (where <c>LISTEN</c> cannot work) it keeps polling every second. Each test makes
/// the rare poll (<see cref="CallbackDispatchSettings.IdlePollInterval"/>) far longer than the test, so only the way
/// under test can deliver the callback in time.
/// </summary>
public sealed class DispatcherWakeTests : DatabaseTest
{
    private static readonly CallbackDispatchSettings RarePoll = new() { IdlePollInterval = TimeSpan.FromMinutes(10) };

    [Fact]
    public async Task A_change_committed_by_an_idle_host_reaches_its_handler_at_once()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Services = s => s.AddSingleton(RarePoll) });
        await WaitUntilHearingAsync(app);

        await app.DeliverAsync(Compact(Subscription("subscription.created", "9a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c01", createdAt: T0)), ct: Ct);

        await Wait.UntilAsync(() => Task.FromResult(!app.Changes.IsEmpty), Wait.ForAnnouncement, "the commit's own signal wakes the idle dispatcher");
        Assert.Equal("9a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c01", Assert.Single(app.Changes).Current?.Id);
    }

    [Fact]
    public async Task A_change_committed_by_another_instance_wakes_this_one_through_notify()
    {
        // The receiver handles nothing, so only the worker's dispatcher can run the callback, and only an announcement
        // can wake it before its rare poll.
        await using var worker = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Services = s => s.AddSingleton(RarePoll) });
        await using var receiver = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = null, CreateSchema = false });
        await WaitUntilHearingAsync(worker);

        await receiver.DeliverAsync(Compact(Subscription("subscription.created", "9a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c02", createdAt: T0)), ct: Ct);

        await Wait.UntilAsync(() => Task.FromResult(!worker.Changes.IsEmpty), Wait.ForAnnouncement, "the receiver's announcement wakes the worker's dispatcher");
        Assert.Equal("9a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c02", Assert.Single(worker.Changes).Current?.Id);
        Assert.Empty(receiver.Changes);
    }

    [Fact]
    public async Task A_callback_that_failed_is_retried_within_seconds_by_an_idle_host()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Services = s => s.AddSingleton(RarePoll) });
        await WaitUntilHearingAsync(app);
        var attempts = 0;
        app.FailCallback = _ => Interlocked.Increment(ref attempts) == 1;

        await app.DeliverAsync(Compact(Subscription("subscription.created", "9a1b2c3d-0000-4a6b-8c7d-9e0f1a2b3c03", createdAt: T0)), ct: Ct);

        await Wait.UntilAsync(() => Task.FromResult(!app.Changes.IsEmpty), Wait.ForAnnouncement, "the retry the dispatcher scheduled (1 s) wakes it");
        Assert.Equal(2, Volatile.Read(ref attempts));
        await Wait.ForOutboxToDrainAsync(Db, Ct);
    }

    [Fact]
    public async Task A_row_nobody_announced_is_found_by_the_rare_poll()
    {
        // As a writer that died between its commit and its announcement leaves it.
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Services = s => s.AddSingleton(new CallbackDispatchSettings { IdlePollInterval = TimeSpan.FromSeconds(2) }),
            });
        await WaitUntilHearingAsync(app);

        await InsertUnannouncedAsync("usr_unannounced");

        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Any(c => c.UserId == "usr_unannounced")), because: "the rare poll finds the row");
        await Wait.ForOutboxToDrainAsync(Db, Ct);
    }

    [Fact]
    public async Task Behind_a_pooler_in_transaction_mode_the_dispatcher_keeps_polling_every_second()
    {
        await using (await KavachTestApp.StartAsync(Db.ConnectionString))
        {
            // The schema, created on a direct connection as a deployment's migrations would.
        }

        // The listener cannot hear through the pooler (no NotificationConnectionString): the dispatcher must poll.
        await using var app = await KavachTestApp.StartAsync(
            PgBouncer.ConnectionStringTo(Db.Name),
            new()
            {
                CreateSchema = false,
                Services = s => s.AddSingleton(RarePoll),
            });
        Assert.False(app.Services.GetRequiredService<HeardChanges>().Hearing, "its own probe never comes back through the pooler");

        await InsertUnannouncedAsync("usr_behind_pooler");

        await Wait.UntilAsync(() => Task.FromResult(app.Changes.Any(c => c.UserId == "usr_behind_pooler")), Wait.ForAnnouncement, "the short poll finds the row");
        await Wait.ForOutboxToDrainAsync(Db, Ct);
    }

    private static Task WaitUntilHearingAsync(KavachTestApp app)
    {
        var heard = app.Services.GetRequiredService<HeardChanges>();
        return Wait.UntilAsync(() => Task.FromResult(heard.Hearing), because: "the host's listener hears its own probe");
    }

    /// <summary>A due callback row committed without an announcement.</summary>
    private async Task InsertUnannouncedAsync(string userId) =>
        await Db.QueryAsync(
            $"""
            INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at)
            SELECT '{userId}', json_build_object('userId', '{userId}', 'current', NULL, 'previous', NULL,
                'eventId', 'evt-{userId}', 'eventType', 'subscription.updated')::text, 0, 0, now()
            """,
            Ct);
}
