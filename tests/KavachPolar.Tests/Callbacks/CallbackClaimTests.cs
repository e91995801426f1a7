using System.Data.Common;
using System.Net;
using System.Text.Json;
using KavachPolar.Callbacks;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// The connection drops right after the dispatcher's claim committed, so the dispatcher never learns
/// which rows it leased. A database blink must not park those changes for the whole lease.
/// </summary>
public sealed class CallbackClaimTests : DatabaseTest
{
    [Fact]
    public async Task A_claim_whose_answer_is_lost_does_not_park_the_callback_for_the_lease()
    {
        var lose = new LoseFirstClaimAnswer();
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(lose) });
        var id = Guid.NewGuid().ToString();
        lose.Armed = true;

        Assert.Equal(HttpStatusCode.Accepted, (await app.PostWebhookAsync(Compact(Example("subscription.created.json")), id, ct: Ct)).StatusCode);

        // "First retry within seconds", not when the lease runs out.
        await KavachTestApp.EventuallyAsync(() => !app.Changes.IsEmpty, TimeSpan.FromSeconds(30), "the change runs soon after the lost claim");
        Assert.True(lose.Fired, "the claim's answer was lost");
        Assert.Equal(id, Assert.Single(app.Changes).EventId);
    }

    [Fact]
    public async Task A_backlog_of_callbacks_that_end_in_time_is_claimed_in_growing_batches_and_runs_in_order()
    {
        // The schema, then a backlog of 40 changes (10 users, 4 each) queued before the dispatcher runs.
        await (await KavachTestApp.StartAsync(Db.ConnectionString)).DisposeAsync();
        await Db.QueryAsync(
            """
            INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at)
            SELECT 'backlog-' || (g % 10), json_build_object('userId', 'backlog-' || (g % 10), 'current', NULL, 'previous', NULL,
                'eventId', 'evt-' || lpad(g::text, 3, '0'), 'eventType', 'subscription.updated')::text, 0, 0, now()
            FROM generate_series(1, 40) AS g ORDER BY g
            """,
            Ct);

        var claims = new ClaimSizes();
        var delivered = new System.Collections.Concurrent.ConcurrentQueue<KavachSubscriptionChange>();
        var pace = new CallbackDispatchSettings { BatchSize = 2, MaxBatchSize = 8, PollInterval = TimeSpan.FromMilliseconds(100) };
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Configure = o => o.OnSubscriptionChange = (change, _) =>
                {
                    delivered.Enqueue(change); // not the test app's handler: this one is ready before the host starts
                    return Task.CompletedTask;
                },
                CreateSchema = false,
                Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(claims),
                Services = s => s.AddSingleton(pace),
            });
        await KavachTestApp.EventuallyAsync(() => delivered.Count == 40, TimeSpan.FromSeconds(30), "the backlog runs");

        // At most one row of a user per claim (its earliest), so growth stops at the number of users with rows left.
        Assert.Equal([2, 4, 8], claims.Asked.Take(3));
        foreach (var user in delivered.GroupBy(c => c.UserId))
        {
            Assert.Equal(user.Select(c => c.EventId).Order(StringComparer.Ordinal), user.Select(c => c.EventId));
        }
    }

    [Theory]
    [InlineData("renew")]
    [InlineData("settle")]
    [InlineData("release")]
    public async Task Batch_writes_lock_their_rows_in_id_order_so_overlapping_batches_queue_instead_of_deadlocking(string write)
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = null });
        var ids = await Db.QueryAsync(
            """
            INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at, locked_until_us, lock_owner)
            SELECT 'lock-order-' || g, '{}', 0, 0, now(), 9000000000000000, 'owner-1' FROM generate_series(1, 20) AS g
            RETURNING id
            """,
            Ct);
        var held = ids.Select(r => ((long)r["id"]!, "owner-1")).OrderByDescending(k => k.Item1).ToList(); // the worst order
        var (lowest, highest) = (held[^1].Item1, held[0].Item1);

        // Another transaction holds the highest row: the batch, locking in id order, must hold the lowest while it waits.
        await using var other = new NpgsqlConnection(Db.ConnectionString);
        await other.OpenAsync(Ct);
        await using var otherTx = await other.BeginTransactionAsync(Ct);
        await using (var lockHighest = new NpgsqlCommand($"SELECT FROM kavach_polar_callbacks WHERE id = {highest} FOR UPDATE", other, otherTx))
        {
            await lockHighest.ExecuteNonQueryAsync(Ct);
        }

        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.IKavachDbContextAccessor>().Context;
        var batch = write switch
        {
            "renew" => CallbackQueue.RenewAsync(db, held, TimeSpan.FromSeconds(30), 0),
            "settle" => CallbackQueue.SettleAsync(db, [.. held.Select((k, i) => new Settlement(k.Item1, k.Item2, i % 2 == 0, 1, TimeSpan.FromSeconds(1), null, KeepLease: true))], 0),
            _ => CallbackQueue.ReleaseAsync(db, held),
        };
        await Wait.UntilAsync(
            async () => await Db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", Ct) == 1,
            because: "the batch waits for the row the other transaction holds");

        await using var probe = new NpgsqlConnection(Db.ConnectionString);
        await probe.OpenAsync(Ct);
        await using var probeTx = await probe.BeginTransactionAsync(Ct);
        await using var lockLowest = new NpgsqlCommand($"SELECT FROM kavach_polar_callbacks WHERE id = {lowest} FOR UPDATE NOWAIT", probe, probeTx);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => lockLowest.ExecuteNonQueryAsync(Ct));
        Assert.Equal(PostgresErrorCodes.LockNotAvailable, refused.SqlState);

        await otherTx.RollbackAsync(Ct);
        await batch.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task With_the_statistics_refreshed_a_claim_reads_pages_linear_in_the_backlog_though_autovacuum_saw_it_empty()
    {
        // What autovacuum leaves behind after the queue drained (statistics of an empty table, its pages still there),
        // then a backlog of 5 000 changes of 1 000 users.
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Configure = o => o.OnSubscriptionChange = null });
        const int backlog = 5000;
        const string insert = """
            INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at)
            SELECT 'stale-' || (g % 1000), '{}', 0, 0, now() FROM generate_series(1, 5000) AS g
            """;
        await Db.QueryAsync(insert, Ct);
        await Db.QueryAsync("DELETE FROM kavach_polar_callbacks", Ct);
        await Db.QueryAsync("VACUUM (TRUNCATE false, ANALYZE) kavach_polar_callbacks", Ct);
        await Db.QueryAsync(insert, Ct);

        await using (var scope = app.Services.CreateAsyncScope())
        {
            await CallbackQueue.AnalyzeAsync(scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.IKavachDbContextAccessor>().Context);
        }

        var claim = CallbackQueue.ClaimSql.Replace("@max", "64", StringComparison.Ordinal).Replace("@lease", "30000000", StringComparison.Ordinal).Replace("@owner", "'test'", StringComparison.Ordinal);
        using var plan = JsonDocument.Parse((await Db.ScalarAsync<string>("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claim, Ct))!);
        var root = plan.RootElement[0].GetProperty("Plan");
        var pages = root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64();

        // Linear: a few index and heap pages per row at most. Checking each due row against every earlier row reads
        // hundreds of thousands.
        Assert.True(pages < 20 * backlog, $"the claim read {pages} pages for a backlog of {backlog}");
        Assert.Equal(64, root.GetProperty("Actual Rows").GetInt64());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task While_a_backlog_lasts_the_dispatcher_refreshes_the_queues_statistics(bool slowCallbacks)
    {
        await (await KavachTestApp.StartAsync(Db.ConnectionString)).DisposeAsync();
        await Db.QueryAsync(
            """
            INSERT INTO kavach_polar_callbacks (user_id, change, attempts, next_attempt_at_us, created_at)
            SELECT 'analyze-' || g, json_build_object('userId', 'analyze-' || g, 'current', NULL, 'previous', NULL,
                'eventId', 'evt-' || g, 'eventType', 'subscription.updated')::text, 0, 0, now()
            FROM generate_series(1, {0}) AS g
            """.Replace("{0}", slowCallbacks ? "12" : "50", StringComparison.Ordinal),
            Ct);
        var rows = slowCallbacks ? 12 : 50;
        var before = await AnalyzeCountAsync();

        var delivered = 0;
        // Slow: each callback outlasts SlowCallbackAfter, so batches never grow; the backlog is there all the same.
        var pace = new CallbackDispatchSettings { BatchSize = 2, PollInterval = TimeSpan.FromMilliseconds(100), SlowCallbackAfter = TimeSpan.FromMilliseconds(slowCallbacks ? 20 : 5000) };
        await using var app = await KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                Configure = o => o.OnSubscriptionChange = async (_, token) =>
                {
                    if (slowCallbacks)
                    {
                        await Task.Delay(60, token); // a slow callback is the behaviour under test
                    }

                    Interlocked.Increment(ref delivered);
                },
                CreateSchema = false,
                Services = s => s.AddSingleton(pace),
            });
        await KavachTestApp.EventuallyAsync(() => Volatile.Read(ref delivered) == rows, TimeSpan.FromSeconds(30), "the backlog runs");
        await Wait.UntilAsync(async () => await AnalyzeCountAsync() > before, TimeSpan.FromSeconds(5), "the dispatcher analyzed the queue");
    }

    private Task<long> AnalyzeCountAsync() =>
        Db.ScalarAsync<long>("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'kavach_polar_callbacks'", Ct);

    /// <summary>Records how many rows each PostgreSQL claim asked for.</summary>
    private sealed class ClaimSizes : DbCommandInterceptor
    {
        private readonly List<int> _asked = [];

        public List<int> Asked
        {
            get
            {
                lock (_asked)
                {
                    return [.. _asked];
                }
            }
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("UPDATE kavach_polar_callbacks", StringComparison.Ordinal) && command.Parameters.Contains("max"))
            {
                lock (_asked)
                {
                    _asked.Add((int)command.Parameters["max"].Value!);
                }
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }

    /// <summary>
    /// Lets the first claim statement commit, then fails as a dropped connection would. On PostgreSQL the claim is
    /// one <c>UPDATE … RETURNING</c> (a reader); on other providers an <c>UPDATE</c> then a read.
    /// </summary>
    private sealed class LoseFirstClaimAnswer : DbCommandInterceptor
    {
        public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        {
            if (Armed
                && command.CommandText.Contains("RETURNING", StringComparison.Ordinal)
                && command.CommandText.Contains("UPDATE kavach_polar_callbacks", StringComparison.Ordinal)
                && Interlocked.CompareExchange(ref _fired, 1, 0) == 0)
            {
                // Drain it first: the claim has committed by the time the answer would be read.
                while (result.Read())
                {
                }

                result.Dispose();
                throw new NpgsqlException("Simulated: the connection dropped after the claim committed.");
            }

            return base.ReaderExecutedAsync(command, eventData, result, cancellationToken);
        }

        private int _fired;

        public volatile bool Armed;

        public bool Fired => Volatile.Read(ref _fired) == 1;

        public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            if (Armed
                && result > 0
                && command.CommandText.Contains("UPDATE", StringComparison.OrdinalIgnoreCase)
                && command.CommandText.Contains("kavach_polar_callbacks", StringComparison.Ordinal)
                && Interlocked.CompareExchange(ref _fired, 1, 0) == 0)
            {
                throw new NpgsqlException("Simulated: the connection dropped after the claim committed.");
            }

            return base.NonQueryExecutedAsync(command, eventData, result, cancellationToken);
        }
    }
}
