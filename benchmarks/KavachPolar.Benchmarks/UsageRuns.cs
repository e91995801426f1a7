using System.Diagnostics;
using System.Globalization;
using KavachPolar.Storage;
using KavachPolar.Testing;
using KavachPolar.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Benchmarks;

/// <summary>
/// The usage runs that are not micro-benchmarks: the sender's throughput against the emulator's ingest, and memory over
/// a million recorded events. Figures are printed, never asserted.
/// </summary>
internal static class UsageRuns
{
    private static readonly Dictionary<string, object> Metadata = new() { ["tokens"] = 42, ["model"] = "sample-summarizer" };

    /// <summary>
    /// <c>--usage-throughput [events]</c>: for each batch size, records <c>events</c> (default 20 000) with the sender
    /// stopped, then starts the host and times the sender until every event is accepted by an in-process emulator.
    /// </summary>
    public static async Task ThroughputAsync(int events)
    {
        var server = UsageHost.ServerFromEnvironment();
        await using var polar = await PolarEmulator.StartAsync();
        Console.WriteLine($"usage sender throughput: {events} events per run, emulator in process, load average {LoadAverage()}");
        Console.WriteLine("batch size | requests | seconds | events/s");
        foreach (var batch in new[] { 100, 1000 })
        {
            var cs = await UsageHost.RecreateDatabaseAsync(server);
            var settings = new UsageSendSettings { BatchSize = batch, PollInterval = TimeSpan.FromMilliseconds(50) };
            await using (var writer = await UsageHost.BuildAsync(cs, polar.BaseUrl, polar.AccessToken, settings))
            {
                await RecordAsync(writer.Services, events, 1000);
            }

            var before = polar.ApiRequests.Count(r => r.Path == "/v1/events/ingest");
            await using var app = await UsageHost.BuildAsync(cs, polar.BaseUrl, polar.AccessToken, settings, createSchema: false);
            var clock = Stopwatch.StartNew();
            await app.StartAsync();
            while (await UsageHost.UnsentAsync(cs) > 0)
            {
                await Task.Delay(20);
            }

            clock.Stop();
            await app.StopAsync();
            var requests = polar.ApiRequests.Count(r => r.Path == "/v1/events/ingest") - before;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{batch,10} | {requests,8} | {clock.Elapsed.TotalSeconds,7:0.00} | {events / clock.Elapsed.TotalSeconds,8:0}"));
        }
    }

    /// <summary>
    /// <c>--usage-soak POLAR_URL [events]</c>: records <c>events</c> (default 1 000 000) in transactions of 100 while the
    /// sender drains them to the emulator at POLAR_URL (run it as its own process, <c>src/KavachPolar.Emulator</c>, so its
    /// store of every ingested event is not counted here), sampling the managed heap (after a full collection) and the
    /// working set every 50 000 events and after the drain.
    /// </summary>
    public static async Task SoakAsync(Uri polar, int events)
    {
        var server = UsageHost.ServerFromEnvironment();
        var cs = await UsageHost.RecreateDatabaseAsync(server);
        await using var app = await UsageHost.BuildAsync(cs, polar, PolarEmulatorOptions.DefaultAccessToken, new UsageSendSettings { PollInterval = TimeSpan.FromMilliseconds(200) });
        await app.StartAsync();
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"usage soak: {events} events, load average {LoadAverage()} at start");
        Console.WriteLine("recorded | unsent | managed MiB (after GC) | working set MiB | seconds");
        var clock = Stopwatch.StartNew();
        async Task SampleAsync(int recorded)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            process.Refresh();
            var unsent = await UsageHost.UnsentAsync(cs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{recorded,8} | {unsent,6} | {GC.GetTotalMemory(false) / 1048576.0,22:0.0} | {process.WorkingSet64 / 1048576.0,15:0.0} | {clock.Elapsed.TotalSeconds,7:0}"));
        }

        await SampleAsync(0);
        for (var done = 0; done < events;)
        {
            var step = Math.Min(50_000, events - done);
            await RecordAsync(app.Services, step, 100);
            done += step;
            await SampleAsync(done);
        }

        while (await UsageHost.UnsentAsync(cs) > 0)
        {
            await Task.Delay(200);
        }

        await SampleAsync(events);
        Console.WriteLine($"drained; load average {LoadAverage()} at the end");
        await app.StopAsync();
    }

    private static async Task RecordAsync(IServiceProvider services, int count, int perTransaction)
    {
        var scopes = services.GetRequiredService<IServiceScopeFactory>();
        for (var done = 0; done < count;)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
            var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
            await using var tx = await db.Database.BeginTransactionAsync();
            var n = Math.Min(perTransaction, count - done);
            for (var i = 0; i < n; i++)
            {
                await usage.RecordAsync("soak-user-" + ((done + i) % 50).ToString(CultureInfo.InvariantCulture), "ai.summary", Metadata);
            }

            await tx.CommitAsync();
            done += n;
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
