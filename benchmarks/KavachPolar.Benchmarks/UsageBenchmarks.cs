using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Benchmarks;

/// <summary>
/// <see cref="IKavachPolarUsage.RecordAsync"/> against a real PostgreSQL (<c>KAVACH_BENCH_PG</c>): validation, one
/// INSERT of the outbox row in its own transaction, and the sender's wake-up signal, from a fresh DI scope as a request
/// has. The sender does not run (the host is not started), so the figure is the write alone. <c>InHostTransaction</c>
/// records 10 events inside one host transaction (the row joins it) and commits: per call, divide by 10.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class UsageBenchmarks
{
    private static readonly Dictionary<string, object> Metadata = new() { ["tokens"] = 42, ["model"] = "sample-summarizer" };

    private WebApplication _host = null!;
    private IServiceScopeFactory _scopes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var cs = UsageHost.RecreateDatabaseAsync(UsageHost.ServerFromEnvironment(), "kavach_bench_record").GetAwaiter().GetResult();
        _host = UsageHost.BuildAsync(cs, new Uri("http://127.0.0.1:9/"), "polar_oat_bench").GetAwaiter().GetResult();
        _scopes = _host.Services.GetRequiredService<IServiceScopeFactory>();
    }

    [GlobalCleanup]
    public void Cleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public async Task<string> Record()
    {
        await using var scope = _scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>().RecordAsync("bench-user", "ai.summary", Metadata);
    }

    [Benchmark(OperationsPerInvoke = 10)]
    public async Task InHostTransaction()
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.KavachPolarDbContext>();
        var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
        await using var tx = await db.Database.BeginTransactionAsync();
        for (var i = 0; i < 10; i++)
        {
            await usage.RecordAsync("bench-user", "ai.summary", Metadata);
        }

        await tx.CommitAsync();
    }
}
