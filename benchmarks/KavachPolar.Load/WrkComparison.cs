using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace KavachPolar.Load;

/// <summary>
/// <c>compare</c>: the floor (<see cref="FloorServer"/>) and KavachPolar (<see cref="LoadServer"/>), each already
/// running in its own process on the same PostgreSQL, driven by the same wrk with the same request shapes, in one
/// run, alternating so that drift in the machine's load falls on both. Prints deliveries/s and GET requests/s,
/// latency and the ratios KavachPolar/floor. See docs/benchmarks.md.
/// </summary>
internal sealed class WrkComparison : IDisposable
{
    private const string KavachWebhookPath = "/api/kavach/auth/polar/webhook";
    private const string KavachGetPath = "/api/kavach/auth/polar/subscription";
    private const string FloorWebhookPath = "/_floor/webhook";
    private const string FloorGetPath = "/_floor/subscription";

    /// <summary>The load server's one endpoint, open, behind RequireAuthorization() and behind RequireSubscription().</summary>
    private static readonly Dictionary<Kind, string> GatePaths = new()
    {
        [Kind.GateOpen] = "/_load/open",
        [Kind.GateAuthorized] = "/_load/authorized",
        [Kind.GateSubscribed] = "/_load/gated",
        [Kind.GateSubscribedAfterChanges] = "/_load/gated",
    };

    private readonly Uri _kavach;
    private readonly Uri _floor;
    private readonly Uri? _uncached;
    private readonly int _duration;
    private readonly int _warmup;
    private readonly int _connections;
    private readonly int _threads;
    private readonly int _rounds;
    private readonly int _users;
    private readonly int _timeout;
    private readonly bool _gate;
    private readonly string _wrk;
    private readonly string _lua;
    private readonly string _work;
    private readonly NpgsqlDataSource _kavachDb;
    private readonly DeliveryFactory _factory;
    private readonly HttpClient _http;
    private readonly Dictionary<Target, double> _rate = [];
    private readonly List<Run> _runs = [];
    private int _nextRound = 1;

    private WrkComparison(Arguments args, string pg, DeliveryFactory factory)
    {
        _kavach = new Uri(args.Get("kavach", "http://127.0.0.1:5095"));
        _floor = new Uri(args.Get("floor", "http://127.0.0.1:5096"));
        _uncached = args.Get("kavach-uncached", "") is { Length: > 0 } uncached ? new Uri(uncached) : null;
        _duration = args.Int("duration", 15);
        _warmup = args.Int("warmup", 3);
        _connections = args.Int("connections", 32);
        _threads = args.Int("threads", 2);
        _rounds = args.Int("rounds", 2);
        _users = args.Int("users", 10000);
        _timeout = args.Int("timeout", 5);
        _gate = args.Get("gate", "true") != "false";
        _wrk = args.Get("wrk", "wrk");
        _lua = Path.Combine(AppContext.BaseDirectory, "pool.lua");
        _work = Directory.CreateTempSubdirectory("kavach-load-").FullName;
        _kavachDb = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(pg) { Database = "kavach_load", MaxPoolSize = 4 }.ConnectionString);
        _factory = factory;
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = _connections }) { Timeout = TimeSpan.FromSeconds(30) };
    }

    private enum Target
    {
        Floor,
        Kavach,

        /// <summary>A second KavachPolar server on the same database with the read cache off (GET only).</summary>
        KavachUncached,
    }

    private enum Kind
    {
        Webhook,
        Get,

        /// <summary>The gate runs: one endpoint of the KavachPolar server, for users with an entitled subscription.</summary>
        GateOpen,
        GateAuthorized,
        GateSubscribed,

        /// <summary>The gated endpoint right after the webhook runs changed every user (this instance forgot them all).</summary>
        GateSubscribedAfterChanges,
    }

    public static async Task<int> RunAsync(Arguments args)
    {
        var pg = args.Get("pg", Environment.GetEnvironmentVariable("KAVACH_TEST_PG") ?? "");
        if (pg.Length == 0)
        {
            Console.Error.WriteLine("--pg <connection string> (or KAVACH_TEST_PG) is required");
            return 2;
        }

        using var comparison = new WrkComparison(args, pg, await DeliveryFactory.CreateAsync());
        return await comparison.RunAsync();
    }

    public void Dispose()
    {
        _kavachDb.Dispose();
        _http.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>The server's version and the settings that decide what a commit waits for.</summary>
    private async Task<string> DurabilityAsync()
    {
        await using var command = _kavachDb.CreateCommand("SELECT current_setting('server_version') || ', fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')");
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private async Task<int> RunAsync()
    {
        if (_users < _threads || _rounds < 1 || _duration < 1)
        {
            Console.Error.WriteLine("need --users >= --threads, --rounds >= 1 and --duration >= 1");
            return 2;
        }

        await WaitForServersAsync();
        var loadAtStart = LoadAverage();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CpuModel()}; load average {loadAtStart}");
        Console.WriteLine($"wrk {_threads} threads, {_connections} connections, {_duration} s a run, {_rounds} rounds; {_users} users; body {_factory.Body(0, 1).Length} B");
        Console.WriteLine($"PostgreSQL: {await DurabilityAsync()} (the floor and KavachPolar commit alike; with fsync off a commit skips the flush other commits may queue behind)");

        // One created snapshot per user in each store (both at once: this is not measured), so that every user
        // exists before any GET and every later delivery is an update.
        await Task.WhenAll(SeedAsync(Target.Floor), SeedAsync(Target.Kavach));

        Console.WriteLine($"warm-up, {_warmup} s each (not counted)");
        foreach (var target in new[] { Target.Floor, Target.Kavach })
        {
            await WebhookRunAsync(target, 0, _warmup);
        }

        var getTargets = _uncached is null ? new[] { Target.Floor, Target.Kavach } : [Target.Floor, Target.Kavach, Target.KavachUncached];
        foreach (var target in getTargets)
        {
            await GetRunAsync(target, 0, _warmup);
        }

        var gateKinds = _gate ? new[] { Kind.GateOpen, Kind.GateAuthorized, Kind.GateSubscribed } : [];
        foreach (var kind in gateKinds)
        {
            await GateRunAsync(kind, 0, _warmup);
        }

        var loadBefore = LoadAverage();
        for (var round = 1; round <= _rounds; round++)
        {
            // ABBA: the second round reverses the order, so a steady drift in the machine's load cancels out.
            var order = round % 2 == 1 ? new[] { Target.Floor, Target.Kavach } : [Target.Kavach, Target.Floor];
            foreach (var target in order)
            {
                _runs.Add(await WebhookRunAsync(target, round, _duration));
            }

            foreach (var target in round % 2 == 1 ? getTargets : getTargets.Reverse())
            {
                _runs.Add(await GetRunAsync(target, round, _duration));
            }

            // The first gated run of a round meets a cold cache (the webhook runs changed every user, and this instance
            // forgot each one it changed); the others measure the gate on cache hits, open and gated in ABBA order.
            if (_gate)
            {
                _runs.Add(await GateRunAsync(Kind.GateSubscribedAfterChanges, round, _duration));
            }

            foreach (var kind in round % 2 == 1 ? gateKinds : gateKinds.Reverse())
            {
                _runs.Add(await GateRunAsync(kind, round, _duration));
            }
        }

        var loadAfter = LoadAverage();
        Console.WriteLine();
        Console.WriteLine($"load average: {loadAtStart} at start, {loadBefore} before the measured runs, {loadAfter} after");
        PrintRuns();
        PrintSummary();
        return _runs.All(r => r.Valid) ? 0 : 1;
    }

    private async Task WaitForServersAsync()
    {
        foreach (var stats in new[] { new Uri(_kavach, "_load/stats"), new Uri(_floor, "_floor/stats"), _uncached is null ? null : new Uri(_uncached, "_load/stats") }.OfType<Uri>())
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var response = await _http.GetAsync(stats);
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (clock.Elapsed < TimeSpan.FromSeconds(120))
                {
                }

                await Task.Delay(250);
            }
        }
    }

    private async Task SeedAsync(Target target)
    {
        var before = await CountersAsync(target);
        var url = new Uri(Base(target), target == Target.Floor ? FloorWebhookPath : KavachWebhookPath);
        var next = -1;
        var failures = 0;
        var retried = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, _connections).Select(async _ =>
        {
            int user;
            while ((user = Interlocked.Increment(ref next)) < _users)
            {
                // A 503 is the server's "not stored, send it again" (its database budget ran out, as it can while a
                // cold process compiles its queries): Polar retries it, and so does seeding, a few times.
                for (var attempt = 1; ; attempt++)
                {
                    using var request = _factory.HttpRequest(url, user, 0);
                    using var response = await _http.SendAsync(request);
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }

                    if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
                    {
                        Interlocked.Increment(ref failures);
                        break;
                    }

                    Interlocked.Increment(ref retried);
                    await Task.Delay(200 * attempt);
                }
            }
        }));
        clock.Stop();
        _rate[target] = _users / clock.Elapsed.TotalSeconds;
        var check = await CheckWebhooksAsync(target, before);
        Console.WriteLine($"seeded {Name(target)}: {_users} created snapshots in {clock.Elapsed.TotalSeconds:F1} s (HttpClient){(retried > 0 ? $", {retried} answered 503 and were sent again" : "")}, {check.Describe()}");
        if (failures > 0 || check.Applied != _users)
        {
            throw new InvalidOperationException($"seeding {Name(target)} failed: {failures} non-2xx, {check.Applied} of {_users} applied");
        }
    }

    private async Task<Run> WebhookRunAsync(Target target, int round, int seconds)
    {
        // Enough signed deliveries for the run at twice the last measured rate (three times, and at least 1000/s, for
        // the warm-up, which follows the slower HttpClient seeding of a cold server); a run that runs out is repeated
        // with twice as many (the next round numbers keep every delivery a newer snapshot).
        var count = (int)(Math.Max(_rate[target], 1000) * seconds * (round == 0 ? 3 : 2)) + 1000;
        for (var attempt = 1; ; attempt++)
        {
            var before = await CountersAsync(target);
            var clock = Stopwatch.StartNew();
            var pool = WriteWebhookPool(target, count);
            var generated = clock.Elapsed;
            var wrk = await RunWrkAsync(target, Kind.Webhook, pool, "once", seconds);
            var check = await CheckWebhooksAsync(target, before);
            _rate[target] = Math.Max((wrk.Requests - wrk.Non2xx) / wrk.Seconds, 1);
            var run = new Run(target, Kind.Webhook, round, wrk, check);
            Console.WriteLine($"{Label(run)}: {wrk.Rate:F0}/s, p50 {wrk.P50Ms:F1} ms, p99 {wrk.P99Ms:F1} ms, CPU µs/request server {wrk.ServerCpuUs:F0} wrk {wrk.WrkCpuUs:F0}; {count} signed in {generated.TotalSeconds:F1} s; {check.Describe()}{Problems(run)}");
            if (wrk.Exhausted == 0 || attempt == 3)
            {
                return run;
            }

            count *= 2;
            Console.WriteLine($"  the pool ran out; again with {count}");
        }
    }

    private async Task<Run> GetRunAsync(Target target, int round, int seconds)
    {
        var (host, path) = (Base(target).Authority, target == Target.Floor ? FloorGetPath : KavachGetPath);
        var pool = WritePool(t => Users(t).Select(u => DeliveryFactory.GetRequest(host, path, u)));
        var wrk = await RunWrkAsync(target, Kind.Get, pool, "cycle", seconds);
        var run = new Run(target, Kind.Get, round, wrk, null);
        Console.WriteLine($"{Label(run)}: {wrk.Rate:F0}/s, p50 {wrk.P50Ms:F1} ms, p99 {wrk.P99Ms:F1} ms, CPU µs/request server {wrk.ServerCpuUs:F0} wrk {wrk.WrkCpuUs:F0}{Problems(run)}");
        return run;
    }

    /// <summary>
    /// One endpoint of the KavachPolar server (<see cref="GatePaths"/>) as the users whose subscription is entitled
    /// now (the webhook runs flip statuses between active and trialing, so that is every user), each user's state in the read cache after the first request.
    /// </summary>
    private async Task<Run> GateRunAsync(Kind kind, int round, int seconds)
    {
        var users = new List<string>();
        await using (var command = _kavachDb.CreateCommand("SELECT id FROM kavach_users WHERE polar_subscription_status IN ('active', 'trialing') ORDER BY id LIMIT $1"))
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _users });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                users.Add(reader.GetString(0));
            }
        }

        if (users.Count < _threads)
        {
            throw new InvalidOperationException($"only {users.Count} users are subscribed: too few for the gate runs");
        }

        var host = _kavach.Authority;
        var pool = WritePool(t => users.Where((_, i) => i % _threads == t).Select(u => DeliveryFactory.GetRequest(host, GatePaths[kind], u)));
        var wrk = await RunWrkAsync(Target.Kavach, kind, pool, "cycle", seconds);
        var run = new Run(Target.Kavach, kind, round, wrk, null);
        Console.WriteLine($"{Label(run)}: {wrk.Rate:F0}/s, p50 {wrk.P50Ms:F1} ms, p99 {wrk.P99Ms:F1} ms, CPU µs/request server {wrk.ServerCpuUs:F0} wrk {wrk.WrkCpuUs:F0}; {users.Count} subscribed users{Problems(run)}");
        return run;
    }

    /// <summary>
    /// Thread t of wrk sends the users u with u % threads == t, each user's snapshots in order, one round of all
    /// its users apart: users / rate seconds (2.5 s for 10 000 users at 4 000/s). A snapshot could only overtake its
    /// user's previous one if that one took longer than this; the server's count of applied deliveries shows it.
    /// </summary>
    private string WriteWebhookPool(Target target, int count)
    {
        var (host, path) = (Base(target).Authority, target == Target.Floor ? FloorWebhookPath : KavachWebhookPath);
        var perThread = (count + _threads - 1) / _threads;
        var firstRound = _nextRound;
        var pool = WritePool(t =>
        {
            var users = Users(t);
            return Enumerable.Range(0, perThread).Select(p => _factory.WebhookRequest(host, path, users[p % users.Length], firstRound + (p / users.Length)));
        });
        _nextRound = firstRound + ((perThread - 1) / Users(_threads - 1).Length) + 1;
        return pool;
    }

    private int[] Users(int thread) => [.. Enumerable.Range(0, _users).Where(u => u % _threads == thread)];

    private string WritePool(Func<int, IEnumerable<byte[]>> requests)
    {
        var prefix = Path.Combine(_work, "pool");
        File.Delete(prefix + ".ready");
        Parallel.For(0, _threads, t =>
        {
            using var file = new FileStream(prefix + "." + t.ToString(CultureInfo.InvariantCulture), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            foreach (var request in requests(t))
            {
                file.Write(Encoding.ASCII.GetBytes(request.Length.ToString("D7", CultureInfo.InvariantCulture)));
                file.Write(request);
            }
        });
        return prefix;
    }

    private async Task<WrkResult> RunWrkAsync(Target target, Kind kind, string pool, string mode, int seconds)
    {
        var output = Path.Combine(_work, "wrk.json");
        File.Delete(output);
        var serverCpuBefore = await ServerCpuSecondsAsync(target);
        var start = new ProcessStartInfo(_wrk) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "-t", I(_threads), "-c", I(_connections), "-d", I(seconds) + "s", "--timeout", I(_timeout) + "s",
            "-s", _lua, Base(target).ToString(), "--", pool, mode, output, I(_threads),
        })
        {
            start.ArgumentList.Add(a);
        }

        var childCpu = ChildrenCpuSeconds();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + _wrk);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"wrk ({Name(target)} {kind}) failed with {process.ExitCode}: {await stderr}{await stdout}");
        }

        var wrkCpu = ChildrenCpuSeconds() - childCpu;
        var serverCpu = await ServerCpuSecondsAsync(target) - serverCpuBefore;
        using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(output));
        var r = json.RootElement;
        long L(string name) => r.GetProperty(name).GetInt64();
        return new WrkResult(
            L("duration_us"), L("requests"), L("connect") + L("read") + L("write") + L("timeout"), L("status"),
            L("p50_us"), L("p90_us"), L("p99_us"), L("max_us"), L("exhausted"), serverCpu, wrkCpu);
    }

    private async Task<double> ServerCpuSecondsAsync(Target target)
    {
        using var stats = JsonDocument.Parse(await _http.GetStringAsync(new Uri(Base(target), target == Target.Floor ? "_floor/stats" : "_load/stats")));
        return stats.RootElement.GetProperty("cpuSeconds").GetDouble();
    }

    /// <summary>CPU time of the finished child processes (the wrk runs), or NaN where unknown.</summary>
    private static double ChildrenCpuSeconds()
    {
        // struct rusage on 64-bit Linux starts with two struct timeval of two longs each; 18 longs in all.
        var usage = new long[18];
        return OperatingSystem.IsLinux() && Environment.Is64BitProcess && GetRUsage(-1, usage) == 0
            ? usage[0] + (usage[1] / 1e6) + usage[2] + (usage[3] / 1e6)
            : double.NaN;
    }

    [DllImport("libc", EntryPoint = "getrusage")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetRUsage(int who, [Out] long[] usage);

    private async Task<Counters> CountersAsync(Target target)
    {
        if (target == Target.Floor)
        {
            using var floor = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_floor, "_floor/stats")));
            var f = floor.RootElement;
            return new Counters(f.GetProperty("deliveries").GetInt64(), f.GetProperty("applied").GetInt64(), 0);
        }

        using var stats = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_kavach, "_load/stats")));
        await using var command = _kavachDb.CreateCommand("SELECT count(*), count(*) FILTER (WHERE outcome = 'applied') FROM kavach_polar_webhook_events");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Counters(reader.GetInt64(0), reader.GetInt64(1), stats.RootElement.GetProperty("callbacks").GetInt64());
    }

    /// <summary>
    /// What the server did with the run's deliveries (including any still in flight when wrk stopped). For
    /// KavachPolar, also waits until its callback outbox is empty and every applied delivery's callback ran.
    /// </summary>
    private async Task<WebhookCheck> CheckWebhooksAsync(Target target, Counters before)
    {
        if (target == Target.Floor)
        {
            // The floor answers after its statement commits; give wrk's abandoned requests a moment to finish.
            await Task.Delay(300);
            var after = await CountersAsync(target);
            return new WebhookCheck(after.Recorded - before.Recorded, after.Applied - before.Applied, null, null, null);
        }

        var clock = Stopwatch.StartNew();
        long? outboxAtEnd = null;
        TimeSpan? emptySince = null;
        var last = before;
        while (true)
        {
            long outbox;
            await using (var command = _kavachDb.CreateCommand("SELECT count(*) FROM kavach_polar_callbacks"))
            {
                outbox = (long)(await command.ExecuteScalarAsync())!;
            }

            outboxAtEnd ??= outbox;
            if (outbox > 0 && clock.Elapsed < TimeSpan.FromMinutes(5))
            {
                emptySince = null;
                await Task.Delay(50);
                continue;
            }

            var now = await CountersAsync(target);
            if (emptySince is null || now != last)
            {
                emptySince = clock.Elapsed;
                last = now;
            }

            var settled = now.Callbacks - before.Callbacks >= now.Applied - before.Applied;
            var quiet = clock.Elapsed - emptySince.Value;
            if ((settled && quiet >= TimeSpan.FromSeconds(0.5)) || quiet >= TimeSpan.FromSeconds(5) || clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                return new WebhookCheck(now.Recorded - before.Recorded, now.Applied - before.Applied, now.Callbacks - before.Callbacks, emptySince.Value.TotalSeconds, outboxAtEnd);
            }

            await Task.Delay(100);
        }
    }

    private void PrintRuns()
    {
        Console.WriteLine();
        Console.WriteLine("| run | requests | /s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | CPU µs/request: server, wrk | server side |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var run in _runs)
        {
            var w = run.Wrk;
            Console.WriteLine($"| {Label(run)} | {w.Requests} | {w.Rate:F0} | {w.P50Ms:F1} | {w.P90Ms:F1} | {w.P99Ms:F1} | {w.MaxMs:F1} | {w.Non2xx} | {w.SocketErrors} | {w.ServerCpuUs:F0}, {w.WrkCpuUs:F0} | {run.Check?.Describe()}{Problems(run)} |");
        }
    }

    private void PrintSummary()
    {
        Console.WriteLine();
        Console.WriteLine("| measured over all rounds | floor | KavachPolar | KavachPolar / floor | goal |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        Row(Kind.Webhook, "webhook deliveries/s", runs => Rate(runs, withDrain: false), "≥ 0.6×");
        Row(Kind.Webhook, "webhook deliveries/s, until callbacks drained", runs => Rate(runs, withDrain: true), "");
        Row(Kind.Webhook, "webhook p50 ms", runs => Span(runs, r => r.Wrk.P50Ms), null);
        Row(Kind.Webhook, "webhook p99 ms", runs => Span(runs, r => r.Wrk.P99Ms), null);
        Row(Kind.Get, "GET subscription requests/s", runs => Rate(runs, withDrain: false), _uncached is null ? "≥ 0.9×" : "≥ 2× (cached)");
        Row(Kind.Get, "GET p50 ms", runs => Span(runs, r => r.Wrk.P50Ms), null);
        Row(Kind.Get, "GET p99 ms", runs => Span(runs, r => r.Wrk.P99Ms), null);
        if (_uncached is not null)
        {
            Row(Kind.Get, "GET subscription requests/s, read cache off", runs => Rate(runs, withDrain: false), "≥ 0.9×", Target.KavachUncached);
            Row(Kind.Get, "GET p50 ms, read cache off", runs => Span(runs, r => r.Wrk.P50Ms), null, Target.KavachUncached);
            Row(Kind.Get, "GET p99 ms, read cache off", runs => Span(runs, r => r.Wrk.P99Ms), null, Target.KavachUncached);
        }

        Row(Kind.Webhook, "webhook: server process CPU µs/delivery", runs => Cpu(runs, w => w.ServerCpuSeconds), null);
        Row(Kind.Webhook, "webhook: wrk CPU µs/delivery", runs => Cpu(runs, w => w.WrkCpuSeconds), null);
        Row(Kind.Get, "GET: server process CPU µs/request", runs => Cpu(runs, w => w.ServerCpuSeconds), null);
        Row(Kind.Get, "GET: wrk CPU µs/request", runs => Cpu(runs, w => w.WrkCpuSeconds), null);
        if (_uncached is not null)
        {
            Row(Kind.Get, "GET, read cache off: server process CPU µs/request", runs => Cpu(runs, w => w.ServerCpuSeconds), null, Target.KavachUncached);
        }

        if (_gate)
        {
            Console.WriteLine();
            Console.WriteLine("| the same endpoint of the KavachPolar server, subscribed users | open | gated | gated / open | goal |");
            Console.WriteLine("|---|---:|---:|---:|---|");
            GateRow(Kind.GateAuthorized, "RequireAuthorization(): requests/s", runs => Rate(runs, withDrain: false), "");
            GateRow(Kind.GateSubscribed, "RequireSubscription(): requests/s", runs => Rate(runs, withDrain: false), "≥ 0.9×");
            GateRow(Kind.GateSubscribedAfterChanges, "RequireSubscription() right after every user changed: requests/s", runs => Rate(runs, withDrain: false), "");
            GateRow(Kind.GateAuthorized, "RequireAuthorization(): server CPU µs/request", runs => Cpu(runs, w => w.ServerCpuSeconds), null);
            GateRow(Kind.GateSubscribed, "RequireSubscription(): server CPU µs/request", runs => Cpu(runs, w => w.ServerCpuSeconds), null);
            GateRow(Kind.GateSubscribedAfterChanges, "RequireSubscription() right after every user changed: server CPU µs/request", runs => Cpu(runs, w => w.ServerCpuSeconds), null);
            GateRow(Kind.GateSubscribed, "RequireSubscription(): p50 ms", runs => Span(runs, r => r.Wrk.P50Ms), null);
            GateRow(Kind.GateSubscribed, "RequireSubscription(): p99 ms", runs => Span(runs, r => r.Wrk.P99Ms), null);
        }

        var invalid = _runs.Count(r => !r.Valid);
        Console.WriteLine();
        Console.WriteLine(invalid == 0
            ? "every measured run: all responses 2xx, no socket errors, every delivery applied as a change and its callback run"
            : $"{invalid} measured run(s) not counted (see the problems above)");
        Console.WriteLine("rates: requests / seconds summed over the valid runs of each; latency: the range over those runs (wrk's figures);");
        Console.WriteLine("CPU: the server process's and wrk's CPU time over the run divided by the requests answered (PostgreSQL's not included)");

        // goal null: no ratio (latency).
        void Row(Kind kind, string what, Func<List<Run>, (string Text, double Value)> measure, string? goal, Target kavachTarget = Target.Kavach)
        {
            var floor = measure(Valid(Target.Floor, kind));
            var kavach = measure(Valid(kavachTarget, kind));
            var ratio = goal is null ? double.NaN : kavach.Value / floor.Value;
            Console.WriteLine($"| {what} | {floor.Text} | {kavach.Text} | {(double.IsFinite(ratio) ? ratio.ToString("F2", CultureInfo.InvariantCulture) + "×" : "")} | {goal} |");
        }
    }

    // goal null: no ratio.
    private void GateRow(Kind gated, string what, Func<List<Run>, (string Text, double Value)> measure, string? goal)
    {
        var open = measure(Valid(Target.Kavach, Kind.GateOpen));
        var closed = measure(Valid(Target.Kavach, gated));
        var ratio = goal is null ? double.NaN : closed.Value / open.Value;
        Console.WriteLine($"| {what} | {open.Text} | {closed.Text} | {(double.IsFinite(ratio) ? ratio.ToString("F2", CultureInfo.InvariantCulture) + "×" : "")} | {goal} |");
    }

    private List<Run> Valid(Target target, Kind kind) => [.. _runs.Where(r => r.Target == target && r.Kind == kind && r.Valid)];

    private static (string, double) Rate(List<Run> runs, bool withDrain)
    {
        var seconds = runs.Sum(r => r.Wrk.Seconds + (withDrain ? r.Check?.DrainSeconds ?? 0 : 0));
        var rate = runs.Sum(r => r.Wrk.Requests) / seconds;
        return (double.IsFinite(rate) ? rate.ToString("F0", CultureInfo.InvariantCulture) : "—", rate);
    }

    private static (string, double) Cpu(List<Run> runs, Func<WrkResult, double> seconds)
    {
        var us = runs.Sum(r => seconds(r.Wrk)) * 1e6 / runs.Sum(r => r.Wrk.Requests);
        return (double.IsFinite(us) ? us.ToString("F0", CultureInfo.InvariantCulture) : "—", us);
    }

    private static (string, double) Span(List<Run> runs, Func<Run, double> value)
    {
        if (runs.Count == 0)
        {
            return ("—", double.NaN);
        }

        var (min, max) = (runs.Min(value), runs.Max(value));
        return (min.ToString("F1", CultureInfo.InvariantCulture) + (max > min ? "–" + max.ToString("F1", CultureInfo.InvariantCulture) : ""), max);
    }

    private static string Problems(Run run)
    {
        var problems = run.ProblemList();
        return problems.Count == 0 ? "" : " — NOT COUNTED: " + string.Join("; ", problems);
    }

    private static string Label(Run run) =>
        $"{(run.Round == 0 ? "warm-up" : "round " + run.Round.ToString(CultureInfo.InvariantCulture))} {Name(run.Target)} {run.Kind switch
        {
            Kind.Webhook => "webhook",
            Kind.Get => "GET",
            Kind.GateSubscribedAfterChanges => "GET " + GatePaths[run.Kind] + " (every user just changed)",
            var gate => "GET " + GatePaths[gate],
        }}";

    private static string Name(Target target) => target switch
    {
        Target.Floor => "floor",
        Target.Kavach => "KavachPolar",
        _ => "KavachPolar (read cache off)",
    };

    private Uri Base(Target target) => target switch
    {
        Target.Floor => _floor,
        Target.Kavach => _kavach,
        _ => _uncached ?? throw new InvalidOperationException("no --kavach-uncached server"),
    };

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";

    private readonly record struct Counters(long Recorded, long Applied, long Callbacks);

    private sealed record WrkResult(
        long DurationUs, long Requests, long SocketErrors, long Non2xx, long P50Us, long P90Us, long P99Us, long MaxUs, long Exhausted, double ServerCpuSeconds, double WrkCpuSeconds)
    {
        /// <summary>Server process CPU per request, in microseconds (PostgreSQL's is not included).</summary>
        public double ServerCpuUs => ServerCpuSeconds * 1e6 / Requests;

        /// <summary>wrk's CPU per request, in microseconds.</summary>
        public double WrkCpuUs => WrkCpuSeconds * 1e6 / Requests;

        public double Seconds => DurationUs / 1e6;

        public double Rate => Requests / Seconds;

        public double P50Ms => P50Us / 1000.0;

        public double P90Ms => P90Us / 1000.0;

        public double P99Ms => P99Us / 1000.0;

        public double MaxMs => MaxUs / 1000.0;
    }

    /// <param name="Recorded">Deliveries the server recorded (2xx) since the run started.</param>
    /// <param name="Applied">Of those, the ones applied as a newer snapshot.</param>
    /// <param name="Callbacks">KavachPolar: OnSubscriptionChange calls since the run started.</param>
    /// <param name="DrainSeconds">KavachPolar: from the end of the wrk run until the outbox was empty.</param>
    /// <param name="OutboxAtEnd">KavachPolar: callbacks waiting when the wrk run ended.</param>
    private sealed record WebhookCheck(long Recorded, long Applied, long? Callbacks, double? DrainSeconds, long? OutboxAtEnd)
    {
        public string Describe() =>
            Callbacks is null
                ? $"{Applied}/{Recorded} applied"
                : $"{Applied}/{Recorded} applied, {Callbacks} callbacks, outbox {OutboxAtEnd} at the end, drained in {DrainSeconds:F2} s";
    }

    private sealed record Run(Target Target, Kind Kind, int Round, WrkResult Wrk, WebhookCheck? Check)
    {
        public bool Valid => ProblemList().Count == 0;

        public List<string> ProblemList()
        {
            var problems = new List<string>();
            if (Wrk.Non2xx > 0)
            {
                problems.Add($"{Wrk.Non2xx} non-2xx");
            }

            if (Wrk.SocketErrors > 0)
            {
                problems.Add($"{Wrk.SocketErrors} socket errors or timeouts");
            }

            if (Wrk.Exhausted > 0)
            {
                problems.Add($"pool ran out ({Wrk.Exhausted} requests without a delivery)");
            }

            if (Check is { } c)
            {
                if (c.Recorded < Wrk.Requests)
                {
                    problems.Add($"server recorded {c.Recorded} of {Wrk.Requests} answered deliveries");
                }

                if (c.Applied != c.Recorded)
                {
                    problems.Add($"{c.Recorded - c.Applied} deliveries were not a change");
                }

                if (c.Callbacks is { } callbacks && callbacks != c.Applied)
                {
                    problems.Add($"{callbacks} callbacks for {c.Applied} changes");
                }
            }

            return problems;
        }
    }
}
