using KavachPolar.Testing;
using KavachPolar.Tests.Infrastructure;
using KavachPolar.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Usage;

/// <summary>
/// An app on real PostgreSQL whose usage sender talks to the emulator's <c>POST /v1/events/ingest</c>, polling fast and
/// with short leases, so a test sees what it records reach Polar within a second.
/// </summary>
public abstract class UsageTest : DatabaseTest
{
    protected PolarEmulator Polar { get; private set; } = null!;

    protected KavachTestApp App { get; set; } = null!;

    internal static UsageSendSettings FastSender(int batchSize = 1000, int maxBodyBytes = KavachPolar.Services.UsageEvents.MaxBodyBytes) => new()
    {
        PollInterval = TimeSpan.FromMilliseconds(100),
        Lease = TimeSpan.FromSeconds(2),
        BatchSize = batchSize,
        MaxBodyBytes = maxBodyBytes,
        MaxBackoff = TimeSpan.FromMilliseconds(500),
        MeterCacheFor = TimeSpan.Zero,
    };

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        Polar = await PolarEmulator.StartAsync(cancellationToken: Ct);
        App = await StartAppAsync(FastSender());
    }

    internal Task<KavachTestApp> StartAppAsync(UsageSendSettings sender, bool createSchema = true, Action<KavachPolarOptions>? configure = null, IngestGate? gate = null) =>
        KavachTestApp.StartAsync(
            Db.ConnectionString,
            new()
            {
                PolarApi = Polar.BaseUrl,
                Configure = configure,
                Settings = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = Polar.AccessToken },
                Services = s =>
                {
                    s.AddSingleton(sender);
                    s.AddHealthChecks().AddKavachPolar();
                    if (gate is not null)
                    {
                        s.AddHttpClient<KavachPolar.Polar.PolarApiClient>().AddHttpMessageHandler(() => gate.CreateHandler());
                    }
                },
                CreateSchema = createSchema,
            });

    protected override async ValueTask DisposeAsyncCore()
    {
        await App.DisposeAsync();
        await Polar.DisposeAsync();
        await base.DisposeAsyncCore();
    }

    /// <summary>Records through <see cref="IKavachPolarUsage"/> from a scope of its own, as a request would.</summary>
    protected async Task<string> RecordAsync(string userId, string name, IReadOnlyDictionary<string, object>? metadata = null, string? externalId = null, DateTimeOffset? timestamp = null)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>().RecordAsync(userId, name, metadata, externalId, timestamp, Ct);
    }

    protected async Task<T> WithUsageAsync<T>(Func<IKavachPolarUsage, Task<T>> work)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>());
    }

    protected Task<long> RowsAsync(string where = "true") => Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_usage_events WHERE " + where, Ct);

    /// <summary>Waits until Polar holds an event with each of these external ids.</summary>
    protected Task UntilAtPolarAsync(params string[] externalIds) =>
        Wait.UntilAsync(
            () => Task.FromResult(externalIds.All(id => Polar.IngestedEvents.Any(e => e.ExternalId == id))),
            because: "Polar holds every recorded event",
            describe: () => Task.FromResult($"{Polar.IngestedEvents.Count} at Polar"));

    /// <summary>Waits until no event waits to be sent (every row accepted or quarantined).</summary>
    protected Task UntilDrainedAsync() =>
        Wait.UntilAsync(async () => await RowsAsync("accepted_at_us IS NULL AND quarantined_at IS NULL") == 0, because: "the usage outbox drains");

    /// <summary>How many ingest requests the emulator received.</summary>
    protected int IngestCalls => Polar.ApiRequests.Count(r => r.Path == "/v1/events/ingest");
}

/// <summary>
/// Lets the first <see cref="Pass"/> requests to Polar's ingest through and holds every later one until the app stops
/// (its cancellation) or <see cref="Release"/>: a sender caught in the middle of a batch, or Polar answering slowly,
/// whatever the machine's speed.
/// </summary>
public sealed class IngestGate(int pass)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _seen;
    private int _held;

    /// <summary>Lets the held requests, and every later one, through.</summary>
    public void Release() => _released.TrySetResult();

    public int Pass { get; } = pass;

    /// <summary>Ingest requests held right now.</summary>
    public int Held => Volatile.Read(ref _held);

    public DelegatingHandler CreateHandler() => new Handler(this);

    private sealed class Handler(IngestGate gate) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/v1/events/ingest", StringComparison.Ordinal) && Interlocked.Increment(ref gate._seen) > gate.Pass)
            {
                Interlocked.Increment(ref gate._held);
                try
                {
                    await gate._released.Task.WaitAsync(cancellationToken);
                }
                finally
                {
                    Interlocked.Decrement(ref gate._held);
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
