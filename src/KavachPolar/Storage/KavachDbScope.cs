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
    private Task? _pendingOpen;

    private KavachDbScope(AsyncServiceScope scope, DbContext db)
    {
        _scope = scope;
        Db = db;
    }

    public DbContext Db { get; }

    public static KavachDbScope Open(IServiceScopeFactory scopes)
    {
        var scope = scopes.CreateAsyncScope();
        try
        {
            var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
            db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.TrackAll;
            db.ChangeTracker.AutoDetectChangesEnabled = true;

            // Each unit of work saves once inside its own transaction and is retried whole on failure:
            // EF's automatic savepoints would only add two round trips per SaveChanges.
            db.Database.AutoSavepointsEnabled = false;
            return new KavachDbScope(scope, db);
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the connection, giving up at <paramref name="ct"/>. Npgsql honours only the connection
    /// string's Timeout, not the token, while it opens a connection to a server that accepts and then
    /// hangs; without this a request would wait out that timeout (a webhook would answer after Polar's
    /// 10 s). Once open, commands honour the token. An open given up on keeps running: disposal then
    /// waits for it in the background, so the connection is closed and its pool slot returned.
    /// </summary>
    public async Task OpenAsync(CancellationToken ct)
    {
        var open = Db.Database.OpenConnectionAsync(ct);
        if (!open.IsCompleted)
        {
            _pendingOpen = open;
        }

        await open.WaitAsync(ct).ConfigureAwait(false);
        _pendingOpen = null;
    }

    public ValueTask DisposeAsync()
    {
        if (_pendingOpen is { IsCompleted: false } pending)
        {
            // Disposing a connection that is still connecting throws and leaks it; finish first.
            _ = pending.ContinueWith(
                    (_, state) => ((KavachDbScope)state!)._scope.DisposeAsync().AsTask(),
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.None,
                    TaskScheduler.Default)
                .Unwrap()
                .ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }

        return _scope.DisposeAsync();
    }
}
