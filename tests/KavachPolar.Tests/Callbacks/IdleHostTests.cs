using KavachPolar.Storage.Cache;
using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;

namespace KavachPolar.Tests.Callbacks;

/// <summary>
/// An idle host costs the database close to nothing and logs nothing (issue 27 item 3): one host written as the README
/// says (PostgreSQL, a change handler, Polar's stand-in), left alone for three minutes once started, measured from outside:
/// the transactions PostgreSQL counted for its database (<c>pg_stat_database</c>, read from another database so that
/// reading it counts nothing) and the lines its log would show at <c>dotnet new web</c>'s default levels.
/// </summary>
/// <remarks>
/// <para>
/// The budget is a rate, and an idle host's work is periodic (the listener's probe every 15 s, the dispatcher's look
/// at the queue every 30 s, the usage sender's every 60 s, each of the last two after a pooled connection's reset, which
/// PostgreSQL counts as a transaction of its own): a one-minute window catches one more of each when it happens to open
/// just before one and close just after another: 15 for a host that averages 10. Three minutes spread that edge over
/// three: at most 35 for that host, against a budget of 36.
/// </para>
/// <para>
/// PostgreSQL's own autovacuum workers also run transactions in every database they visit, more often the more databases
/// the test cluster holds (one visit per database per <c>autovacuum_naptime</c> across all of them): a second database
/// that nothing uses, measured over the same minutes, counts that, and the host's figure is the difference.
/// </para>
/// </remarks>
// Alone: a parallel test that drops its database clears every Npgsql pool in the process, this host's included, and
// each new physical connection then costs the host transactions it would not run in production.
[Collection(SerialTests.Name)]
public sealed class IdleHostTests(IdleHostTests.IdleMinute minute) : IClassFixture<IdleHostTests.IdleMinute>
{
    /// <summary>At most 12 transactions a minute at idle: what a serverless PostgreSQL bills for stays close to nothing.</summary>
    public const int MaxTransactionsPerMinute = 12;

    [Fact]
    public void An_idle_host_runs_at_most_twelve_transactions_a_minute()
    {
        Assert.True(
            minute.Transactions <= MaxTransactionsPerMinute * IdleMinute.Minutes,
            $"{minute.Transactions} transactions in the host's database during {IdleMinute.Minutes} idle minutes (at most {MaxTransactionsPerMinute} a minute), after {minute.Background} that PostgreSQL ran in an unused database meanwhile");
    }

    [Fact]
    public void An_idle_host_logs_nothing_for_three_minutes_at_default_levels()
    {
        Assert.True(minute.Started, "the host started and its listener heard its own probe before the minutes began");
        Assert.True(minute.Lines.Count == 0, $"{minute.Lines.Count} lines logged during {IdleMinute.Minutes} idle minutes, the first:\n" + string.Join('\n', minute.Lines.Take(5)));
    }

    /// <summary>Starts the host, waits until it has settled, then counts over <see cref="Minutes"/> minutes of idleness.</summary>
    public sealed class IdleMinute : IAsyncLifetime
    {
        /// <summary>
        /// PostgreSQL (15) sends a backend's transaction counts to the shared statistics at most once a second, and within
        /// 10 s once the backend is idle: the start-up's own transactions are counted before the window opens after this.
        /// </summary>
        private static readonly TimeSpan StatisticsSettle = TimeSpan.FromSeconds(12);

        public const int Minutes = 3;

        private static readonly TimeSpan Window = TimeSpan.FromMinutes(Minutes);

        private PostgresDatabase? _db;
        private PostgresDatabase? _unused;
        private PolarEmulator? _polar;
        private KavachTestApp? _app;

        /// <summary>The host's transactions: those counted in its database less those counted in the unused one.</summary>
        public long Transactions { get; private set; }

        /// <summary>The transactions counted in the unused database over the same minutes (autovacuum's visits).</summary>
        public long Background { get; private set; }

        public bool Started { get; private set; }

        /// <summary>The log lines written during the minutes that <c>dotnet new web</c>'s appsettings.json lets through.</summary>
        public IReadOnlyList<string> Lines { get; private set; } = [];

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            _db = await PostgresDatabase.CreateAsync(ct);
            _unused = await PostgresDatabase.CreateAsync(ct);
            _polar = await PolarEmulator.StartAsync(new PolarEmulatorOptions(), ct);
            _app = await KavachTestApp.StartAsync(_db.ConnectionString, _polar);
            var cache = _app.Services.GetRequiredService<SubscriptionCache>();
            await Wait.UntilAsync(() => Task.FromResult(cache.Hearing), because: "the cache listener hears its own probe");
            Started = true;

            // The measurement's own design, not a wait for an event: see StatisticsSettle.
            await Task.Delay(StatisticsSettle, ct);
            var before = await CountAsync(_db, ct);
            var unusedBefore = await CountAsync(_unused, ct);
            var logged = _app.Logs.Collector.GetSnapshot().Count;
            await Task.Delay(Window, ct);
            // Counts reach the statistics late by the same few seconds at both ends: the difference is the window's.
            Background = await CountAsync(_unused, ct) - unusedBefore;
            Transactions = await CountAsync(_db, ct) - before - Background;
            Lines = [.. _app.Logs.Collector.GetSnapshot().Skip(logged).Where(AtDefaultLevels).Select(Format)];
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }

            if (_polar is not null)
            {
                await _polar.DisposeAsync();
            }

            if (_db is not null)
            {
                await _db.DisposeAsync();
            }

            if (_unused is not null)
            {
                await _unused.DisposeAsync();
            }
        }

        /// <summary>Transactions PostgreSQL counted for the database, read on a connection to another database.</summary>
        private static async Task<long> CountAsync(PostgresDatabase db, CancellationToken ct)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(db.ServerConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @name", connection);
            command.Parameters.AddWithValue("name", db.Name);
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }

        /// <summary>What <c>dotnet new web</c>'s appsettings.json logs: Information and up, Microsoft.AspNetCore from Warning.</summary>
        private static bool AtDefaultLevels(FakeLogRecord record) =>
            record.Level >= (record.Category?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true ? LogLevel.Warning : LogLevel.Information);

        private static string Format(FakeLogRecord r) => $"{r.Level} {r.Category}[{r.Id.Id}] {r.Message}";
    }
}
