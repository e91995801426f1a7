using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Storage;

/// <summary>
/// A DbContext of KavachPolar's own, from a fresh service scope: never the host's request-scoped
/// instance (whose pending changes and transaction are the host's business), always tracking and
/// detecting changes whatever defaults the host configured.
/// </summary>
internal sealed class KavachDbScope : IAsyncDisposable
{
    private readonly AsyncServiceScope _scope;

    private KavachDbScope(AsyncServiceScope scope, DbContext db)
    {
        _scope = scope;
        Db = db;
    }

    public DbContext Db { get; }

    public static KavachDbScope Open(IServiceScopeFactory scopes)
    {
        var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
        db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.TrackAll;
        db.ChangeTracker.AutoDetectChangesEnabled = true;

        // Each unit of work saves once inside its own transaction and is retried whole on failure:
        // EF's automatic savepoints would only add two round trips per SaveChanges.
        db.Database.AutoSavepointsEnabled = false;
        return new KavachDbScope(scope, db);
    }

    public ValueTask DisposeAsync() => _scope.DisposeAsync();
}
