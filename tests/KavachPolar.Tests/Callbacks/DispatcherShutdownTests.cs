using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>What the dispatcher does with the callbacks it is running when its host stops: their leases.</summary>
public sealed class DispatcherShutdownTests : DatabaseTest
{
    [Fact]
    public async Task Stopping_the_app_hands_running_callbacks_back_at_once()
    {
        var started = new TaskCompletionSource();
        var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Configure = o => o.OnSubscriptionChange = async (_, ct) =>
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct); // runs until the stopping host cancels it: the behaviour under test
            },
        });
        await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL", Ct));

        await app.DisposeAsync();

        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL OR locked_until_us IS NOT NULL", Ct));
    }

    [Fact]
    public async Task Stopping_the_app_keeps_the_lease_of_a_callback_that_ignores_its_token_so_no_other_instance_runs_it_meanwhile()
    {
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Configure = o => o.OnSubscriptionChange = async (_, _) =>
            {
                started.TrySetResult();
                await release.Task;
            },
        });
        try
        {
            await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

            await app.DisposeAsync();

            Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks WHERE lock_owner IS NOT NULL AND locked_until_us IS NOT NULL", Ct));
        }
        finally
        {
            release.TrySetResult();
        }
    }
}
