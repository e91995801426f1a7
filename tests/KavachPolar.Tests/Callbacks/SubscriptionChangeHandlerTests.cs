using System.Collections.Concurrent;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

public sealed class SubscriptionChangeHandlerTests : DatabaseTest
{
    [Fact]
    public async Task A_handler_registered_as_a_service_gets_each_change_once_with_scoped_dependencies()
    {
        var seen = new Seen();
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Services = s =>
            {
                s.AddSingleton(seen);
                s.AddKavachPolar().AddSubscriptionChangeHandler<GrantAccessHandler>().AddSubscriptionChangeHandler<GrantAccessHandler>();
            },
        });

        var body = Compact(Example("subscription.created.json"));
        await app.PostWebhookAsync(body, "d0000000-0000-4000-8000-000000000001", ct: Ct);
        await app.PostWebhookAsync(body, "d0000000-0000-4000-8000-000000000001", ct: Ct);
        await app.PostWebhookAsync(Compact(Example("subscription.revoked.json")), ct: Ct);

        await KavachTestApp.EventuallyAsync(() => seen.Changes.Count == 2);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(2, seen.Changes.Count);
        Assert.Equal([("usr_1337", true), ("usr_1337", false)], seen.Changes.Select(c => (c.UserId, c.Entitled)));
        Assert.Equal(2, seen.DistinctScopes.Count);
        Assert.Equal([true, true], seen.UserReadable);
        Assert.Equal(2, app.Changes.Count); // the options delegate still runs beside the handler
    }

    public sealed class Seen
    {
        public ConcurrentQueue<(string UserId, bool Entitled)> Changes { get; } = new();

        /// <summary>Per change, whether the handler's scoped DbContext could read the change's user.</summary>
        public ConcurrentQueue<bool> UserReadable { get; } = new();

        public ConcurrentDictionary<KavachPolarDbContext, bool> DistinctScopes { get; } = new();
    }

    public sealed class GrantAccessHandler(Seen seen, KavachPolarDbContext db) : IKavachSubscriptionChangeHandler
    {
        public async Task HandleAsync(KavachSubscriptionChange change, CancellationToken cancellationToken)
        {
            // A scoped dependency works: the change's user is committed and readable (asserted by the test, not here:
            // a failure inside the handler would only make the dispatcher retry). Its columns may already show a later
            // change: callbacks run after commit, not in the same instant.
            seen.UserReadable.Enqueue(await db.KavachUsers.AsNoTracking().AnyAsync(u => u.Id == change.UserId, cancellationToken));
            seen.DistinctScopes.TryAdd(db, true);
            seen.Changes.Enqueue((change.UserId, change.Current?.IsEntitled == true));
        }
    }

    [Fact]
    public async Task A_handler_registered_directly_in_the_container_is_called_too()
    {
        var seen = new Seen();
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new()
        {
            Configure = o => o.OnSubscriptionChange = null,
            Services = s =>
            {
                s.AddSingleton(seen);
                s.AddScoped<IKavachSubscriptionChangeHandler, GrantAccessHandler>();
            },
        });

        await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        await KavachTestApp.EventuallyAsync(() => seen.Changes.Count == 1);
        Assert.Equal(("usr_1337", true), Assert.Single(seen.Changes));
        Assert.True(Assert.Single(seen.UserReadable));
    }
}
