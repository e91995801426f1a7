using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Reads a user's subscription state for GET subscription, the gate and <see cref="IKavachPolarSubscriptions"/>:
/// from <see cref="SubscriptionCache"/>, or with one query (the user's row, the products of their entitled
/// subscriptions, the benefits they hold and the products they bought once) bounded by <see cref="KavachPolarOptions.DatabaseTimeout"/>. A singleton with nothing else to
/// build per request.
/// </summary>
internal sealed class SubscriptionReader
{
    private readonly KavachStore store;
    private readonly SubscriptionCache cache;
    private readonly IOptionsMonitor<KavachPolarOptions> options;

    public SubscriptionReader(KavachStore store, SubscriptionCache cache, IOptionsMonitor<KavachPolarOptions> options)
    {
        this.store = store;
        this.cache = cache;
        this.options = options;
        cache.KeepWarm = RefreshLater;
    }

    /// <summary>The most users one background refresh, or one batch of waiting misses, reads with one query (over a raw PostgreSQL connection).</summary>
    internal const int RefreshBatch = 256;

    /// <summary>
    /// The most reads a process sends at once for users the cache does not hold; a user who misses while that many are
    /// out joins the next batch (<see cref="ReadAndCacheAsync(string, CancellationToken)"/>).
    /// </summary>
    internal const int ReadsInFlight = 4;

    private readonly ConcurrentQueue<string> _due = new();
    private int _refreshing; // 1 while RefreshDueAsync runs

    private readonly Lock _reads = new();
    private readonly Queue<MissBatch> _waiting = new(); // batches waiting for a read to end (under _reads)
    private int _readsOut; // reads sent and not yet answered (under _reads)
    private MissBatch? _filling; // the last of _waiting while it has room (under _reads)
    private volatile bool _batchable; // the latest read went over a raw PostgreSQL connection, where a batch is one query

    /// <summary>
    /// The user's state when the read cache holds it and may serve it now; no database on this path (an entry near the
    /// end of its life is read again in the background, see <see cref="SubscriptionCache"/>).
    /// </summary>
    public bool TryGetCached(string userId, [NotNullWhen(true)] out CachedUser? state)
    {
        if (!cache.TryGet(userId, out state, out var refresh))
        {
            return false;
        }

        if (refresh)
        {
            _due.Enqueue(userId);
            StartRefresher();
        }

        return true;
    }

    /// <summary>Reads <paramref name="userIds"/> again in the background (entries the cache's sweep keeps warm).</summary>
    private void RefreshLater(List<string> userIds)
    {
        foreach (var userId in userIds)
        {
            _due.Enqueue(userId);
        }

        StartRefresher();
    }

    private void StartRefresher()
    {
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = RefreshDueAsync();
        }
    }

    public async Task<CachedUser> LoadAsync(string userId, CancellationToken ct)
    {
        if (TryGetCached(userId, out var hit))
        {
            return hit;
        }

        return await ReadAndCacheAsync(userId, ct).ConfigureAwait(false);
    }

    /// <summary>Users waiting in the next batch of reads (for tests and diagnostics).</summary>
    internal int Waiting
    {
        get
        {
            lock (_reads)
            {
                return _waiting.Sum(b => b.Users.Count);
            }
        }
    }

    /// <summary>
    /// Reads the user from the database and caches what was read, unless a change to the user was announced since the
    /// read began (the stripe's stamp, taken first, then no longer matches). On PostgreSQL over a raw connection, at most
    /// <see cref="ReadsInFlight"/> reads are out at once: a user who misses while they are joins the newest batch waiting
    /// (up to <see cref="RefreshBatch"/> users), which is read with one query (as the background refresh is) when one of
    /// them ends. A quiet process reads each miss at once; a burst of misses (every
    /// user's entry expired together, a cache that just came back, a host with the cache off under load) costs a query
    /// per batch instead of one a user, and never waits for more than one read before its own. A read begins after the
    /// request that asked for it, so it is never older than that request. Waiting and reading together are bounded by
    /// <see cref="KavachPolarOptions.DatabaseTimeout"/>.
    /// </summary>
    private async Task<CachedUser> ReadAndCacheAsync(string userId, CancellationToken ct)
    {
        if (!_batchable)
        {
            // Through EF Core (another provider, or interceptors to honour) a batch would be one query a user in turn:
            // each miss reads at once, as many at a time as the pool allows.
            return await ReadOneAsync(userId, ct).ConfigureAwait(false);
        }

        MissBatch? batch;
        lock (_reads)
        {
            if (_readsOut < ReadsInFlight)
            {
                _readsOut++;
                batch = null;
            }
            else
            {
                if (_filling is null || _filling.Users.Count >= RefreshBatch)
                {
                    _filling = new MissBatch();
                    _waiting.Enqueue(_filling);
                }

                batch = _filling;
                batch.Users.Add(userId);
            }
        }

        if (batch is not null)
        {
            Dictionary<string, CachedUser> loaded;
            try
            {
                loaded = await batch.Done.Task.WaitAsync(options.CurrentValue.DatabaseTimeout, ct).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                // What a read past its budget throws (StoreBudget): a cancellation that is not the caller's.
                throw new OperationCanceledException("The database did not answer within KavachPolar:DatabaseTimeout.", e);
            }

            return loaded.TryGetValue(userId, out var state) ? state : NoRow();
        }

        try
        {
            return await ReadOneAsync(userId, ct).ConfigureAwait(false);
        }
        finally
        {
            ReadEnded();
        }
    }

    private async Task<CachedUser> ReadOneAsync(string userId, CancellationToken ct)
    {
        var stamp = cache.Stamp(userId);
        var loaded = await store.RunHotAsync(options.CurrentValue.DatabaseTimeout, (s, t) => QueryAsync(s, userId, t), ct).ConfigureAwait(false);
        cache.Set(userId, loaded, stamp);
        return loaded;
    }

    /// <summary>A read ended: its place goes to the oldest batch waiting, if any.</summary>
    private void ReadEnded()
    {
        MissBatch? next;
        lock (_reads)
        {
            if (!_waiting.TryDequeue(out next))
            {
                _readsOut--;
                return;
            }

            if (ReferenceEquals(next, _filling))
            {
                _filling = null;
            }
        }

        _ = ReadBatchAsync(next);
    }

    private async Task ReadBatchAsync(MissBatch batch)
    {
        try
        {
            await Task.Yield();
            batch.Done.SetResult(await ReadAndCacheAsync(batch.Users, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            batch.Done.SetException(e);
            _ = batch.Done.Task.Exception; // observed, should every user have stopped waiting
        }
        finally
        {
            ReadEnded();
        }
    }

    /// <summary>
    /// Reads the users whose entries are due to be read again (found by a request, <see cref="TryGetCached"/>, or by the
    /// cache's sweep, <see cref="RefreshLater"/>), off any request, as many with one query as were queued since the last
    /// one (at most <see cref="RefreshBatch"/>; through EF Core one after another, each with its own budget): users
    /// cached in the same moment (a deploy, a newsletter, a benchmark's first round) reach their refresh points
    /// together, and one query a batch costs a fraction of one a user. A failure changes nothing: the entries serve until
    /// they expire, and the next read after that goes to the database and fails or succeeds there.
    /// </summary>
    private async Task RefreshDueAsync()
    {
        await Task.Yield();
        var batch = new List<string>();
        while (true)
        {
            batch.Clear();
            while (batch.Count < RefreshBatch && _due.TryDequeue(out var userId))
            {
                batch.Add(userId);
            }

            if (batch.Count == 0)
            {
                Interlocked.Exchange(ref _refreshing, 0); // a full fence: the look at the queue below comes after it

                // A user queued after the queue looked empty and before the flag was cleared found it still set: take
                // it now, unless a new refresher already has.
                if (_due.IsEmpty || Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
                {
                    return;
                }

                continue;
            }

            try
            {
                await ReadAndCacheAsync(batch, CancellationToken.None, skipFailures: true).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // See above: nothing to undo, and the requests that asked have their answers already.
            }
        }
    }

    /// <summary>
    /// <see cref="ReadAndCacheAsync(string, CancellationToken)"/> for several users, each read once however often named:
    /// over a raw PostgreSQL connection with one query (<see cref="DirectManySql"/>); through EF Core, where a batch would
    /// be one query a user in turn, each with a budget of its own. With <paramref name="skipFailures"/> (a background
    /// refresh) a user whose own read fails there is left out and the others are still read; otherwise the failure
    /// propagates (users waiting for the batch must not take a missing answer for "nothing held").
    /// </summary>
    private async Task<Dictionary<string, CachedUser>> ReadAndCacheAsync(List<string> named, CancellationToken ct, bool skipFailures = false)
    {
        List<string> userIds = named.Count > 1 ? [.. new HashSet<string>(named, StringComparer.Ordinal)] : named;
        if (!_batchable)
        {
            var each = new Dictionary<string, CachedUser>(userIds.Count, StringComparer.Ordinal);
            foreach (var userId in userIds)
            {
                try
                {
                    each[userId] = await ReadOneAsync(userId, ct).ConfigureAwait(false);
                }
                catch (Exception) when (skipFailures)
                {
                    // This user's entry serves until it expires, as after a failed batch.
                }
            }

            return each;
        }

        var stamps = new long[userIds.Count];
        for (var i = 0; i < stamps.Length; i++)
        {
            stamps[i] = cache.Stamp(userIds[i]);
        }

        var loaded = await store.RunHotAsync(options.CurrentValue.DatabaseTimeout, (s, t) => QueryManyAsync(s, userIds, t), ct).ConfigureAwait(false);
        for (var i = 0; i < stamps.Length; i++)
        {
            if (!loaded.TryGetValue(userIds[i], out var state))
            {
                loaded[userIds[i]] = state = NoRow();
            }

            cache.Set(userIds[i], state, stamps[i]);
        }

        return loaded;
    }

    private async Task<Dictionary<string, CachedUser>> QueryManyAsync(KavachDbScope store, List<string> userIds, CancellationToken ct)
    {
        var loaded = new Dictionary<string, CachedUser>(userIds.Count, StringComparer.Ordinal);
        if (await store.OpenDirectAsync(ct).ConfigureAwait(false) is { } connection)
        {
            await store.QueryDirectEachAsync(connection, DirectManySql, [.. userIds], r => loaded[r.GetString(0)] = ReadRow(r, first: 1), ct).ConfigureAwait(false);
            return loaded;
        }

        foreach (var userId in userIds)
        {
            loaded[userId] = await QueryAsync(store, userId, ct).ConfigureAwait(false);
        }

        return loaded;
    }

    /// <summary>Whether the user has an entitled subscription, of one of <paramref name="products"/> when given (ids or slugs).</summary>
    public async Task<bool> IsEntitledAsync(string userId, IReadOnlyCollection<string>? products, CancellationToken ct)
    {
        var state = await LoadAsync(userId, ct).ConfigureAwait(false);
        if (products is not { Count: > 0 })
        {
            return state.EntitledProducts.Length > 0;
        }

        return HoldsAny(state, Products.ResolveAll(products, options.CurrentValue));
    }

    /// <summary>Whether the user has an entitled subscription to one of <paramref name="productIds"/> (ids, any case).</summary>
    public static bool HoldsAny(CachedUser state, string[] productIds)
    {
        foreach (var held in state.EntitledProducts)
        {
            foreach (var id in productIds)
            {
                if (string.Equals(held, id, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The user's row and the products of their entitled subscriptions: one query, compiled once per application (a
    /// compiled query serves one model, and a process may host applications with different ones, as test suites do).
    /// </summary>
    private readonly Func<DbContext, string, CancellationToken, Task<UserState?>> _query = EF.CompileAsyncQuery(
        (DbContext db, string userId, CancellationToken ct) => db.Set<KavachUser>().AsNoTracking()
            .Where(u => u.Id == userId)
            .Select(u => new UserState
            {
                User = u,
                Entitled = db.Set<SubscriptionRecord>()
                    .Where(r => r.UserId == u.Id && SubscriptionStatuses.Entitled.Contains(r.Status))
                    .Select(r => r.ProductId)
                    .ToArray(),
                // One benefit may be held through several grants; Distinct here would need SQL APPLY, which SQLite lacks.
                Benefits = db.Set<BenefitGrantRecord>()
                    .Where(g => g.UserId == u.Id && g.GrantedAt != null)
                    .Select(g => g.BenefitId)
                    .ToArray(),
                Purchases = db.Set<OrderRecord>()
                    .Where(o => o.UserId == u.Id && o.BillingReason == Billing.BillingStore.PurchaseReason && o.ProductId != null
                                && Billing.BillingStore.PurchasedStatuses.Contains(o.Status))
                    .Select(o => o.ProductId!)
                    .ToArray(),
            })
            .FirstOrDefault());

    /// <summary>
    /// The same query as <see cref="_query"/> for a raw PostgreSQL connection (see <see cref="DirectPostgres"/>). A
    /// benefit held through several grants, or a product bought twice, comes back twice: <see cref="ReadRow"/> keeps one
    /// (<c>SELECT DISTINCT</c> sorts in each subquery, about 10 µs of PostgreSQL's time a read, for arrays of one or two).
    /// </summary>
    private static readonly string DirectSql =
        "SELECT u.polar_subscription_id, u.polar_subscription_status, u.polar_product_id, u.polar_current_period_end, u.polar_cancel_at_period_end, "
        + "u.polar_scheduled_product_id, u.polar_scheduled_change_at, ARRAY(SELECT s.product_id FROM kavach_polar_subscriptions s WHERE s.user_id = u.id AND s.status IN ('"
        + string.Join("', '", SubscriptionStatuses.Entitled) + "')), "
        + "ARRAY(SELECT g.benefit_id FROM kavach_polar_benefit_grants g WHERE g.user_id = u.id AND g.granted_at IS NOT NULL), "
        + "ARRAY(SELECT o.product_id FROM kavach_polar_orders o WHERE o.user_id = u.id AND o.billing_reason = '" + Billing.BillingStore.PurchaseReason
        + "' AND o.product_id IS NOT NULL AND o.status IN ('" + string.Join("', '", Billing.BillingStore.PurchasedStatuses) + "')) "
        + "FROM kavach_users u WHERE u.id = $1";

    /// <summary><see cref="DirectSql"/> for the users in <c>$1</c> (a text array), each row led by the user's id; a user without a row has none.</summary>
    private static readonly string DirectManySql = "SELECT u.id, " + DirectSql["SELECT ".Length..^"$1".Length] + "ANY($1)";

    private async Task<CachedUser> QueryAsync(KavachDbScope store, string userId, CancellationToken ct)
    {
        var connection = await store.OpenDirectAsync(ct).ConfigureAwait(false);
        _batchable = connection is not null;
        if (connection is not null)
        {
            return await store.QueryDirectAsync(connection, DirectSql, userId, r => ReadRow(r, first: 0), ct).ConfigureAwait(false)
                ?? NoRow();
        }

        await store.OpenAsync(ct).ConfigureAwait(false);
        var row = await _query(store.Db, userId, ct).ConfigureAwait(false);
        return row is null
            ? NoRow()
            : new CachedUser(SubscriptionProjection.Read(row.User), row.Entitled, Distinct(row.Benefits), PurchasedProducts: Distinct(row.Purchases));
    }

    /// <summary>The state of a user without a row: nothing held.</summary>
    private static CachedUser NoRow() => new(null, [], [], PurchasedProducts: []);

    /// <summary>
    /// A row of <see cref="DirectSql"/> (or of <see cref="DirectManySql"/> from its column <paramref name="first"/>), read
    /// as <see cref="SubscriptionProjection.Read"/> reads a <see cref="KavachUser"/>.
    /// </summary>
    private static CachedUser ReadRow(System.Data.Common.DbDataReader r, int first) => new(
        r.IsDBNull(first)
            ? null
            : new KavachSubscription
            {
                Id = r.GetString(first),
                Status = r.IsDBNull(first + 1) ? "" : r.GetString(first + 1),
                ProductId = r.IsDBNull(first + 2) ? "" : r.GetString(first + 2),
                CurrentPeriodEnd = r.IsDBNull(first + 3) ? null : r.GetFieldValue<DateTimeOffset>(first + 3),
                CancelAtPeriodEnd = r.GetBoolean(first + 4),
                ScheduledChange = SubscriptionProjection.ScheduledChange(
                    r.IsDBNull(first + 5) ? null : r.GetString(first + 5),
                    r.IsDBNull(first + 6) ? null : r.GetFieldValue<DateTimeOffset>(first + 6)),
            },
        r.GetFieldValue<string[]>(first + 7),
        Distinct(r.GetFieldValue<string[]>(first + 8)),
        PurchasedProducts: Distinct(r.GetFieldValue<string[]>(first + 9)));

    /// <summary><paramref name="values"/> without repeats, in their order; the same array when it has none (the usual case).</summary>
    internal static string[] Distinct(string[] values)
    {
        for (var i = 1; i < values.Length; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(values[i], values[j], StringComparison.Ordinal))
                {
                    return [.. values.Distinct(StringComparer.Ordinal)];
                }
            }
        }

        return values;
    }

    /// <summary>Users who missed while <see cref="ReadsInFlight"/> reads were out, and what one read of them all found.</summary>
    private sealed class MissBatch
    {
        public List<string> Users { get; } = [];

        public TaskCompletionSource<Dictionary<string, CachedUser>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class UserState
    {
        public required KavachUser User { get; init; }

        public required string[] Entitled { get; init; }

        public required string[] Benefits { get; init; }

        public required string[] Purchases { get; init; }
    }
}
