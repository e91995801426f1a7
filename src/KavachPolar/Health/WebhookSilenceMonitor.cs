using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Health;

/// <summary>
/// Publishes the gauge <c>kavach_polar.webhooks.since_last_verified</c> and, when
/// <see cref="KavachPolarHealthOptions.WebhookSilence"/> is set, warns (event 3009) once no verified delivery has
/// arrived for that long while subscriptions are live. It reads the newest delivery any instance stored, so every
/// instance agrees; the warning repeats only after deliveries resumed and stopped again.
/// </summary>
internal sealed class WebhookSilenceMonitor : BackgroundService
{
    private static readonly string[] Live = ["active", "trialing", "past_due", "incomplete", "paused"];

    private readonly KavachStore _store;
    private readonly WebhookDeliveryClock _clock;
    private readonly IOptionsMonitor<KavachPolarOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookSilenceMonitor> _logger;
    private readonly DateTimeOffset _startedAt;
    private bool _warned;

    public WebhookSilenceMonitor(KavachStore store, WebhookDeliveryClock clock, KavachPolarMetrics metrics, IOptionsMonitor<KavachPolarOptions> options, TimeProvider time, ILogger<WebhookSilenceMonitor> logger)
    {
        _store = store;
        _clock = clock;
        _options = options;
        _time = time;
        _logger = logger;
        _startedAt = time.GetUtcNow();
        metrics.ObserveSinceLastVerifiedDelivery(clock.SecondsSinceLast);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var silence = _options.CurrentValue.Health.WebhookSilence;
            if (silence is { } limit)
            {
                await CheckAsync(limit, stoppingToken).ConfigureAwait(false);
            }

            // A quarter of the silence, so the warning comes at most a quarter late; at least a second, at most five minutes.
            var interval = silence is { } s ? TimeSpan.FromTicks(Math.Clamp(s.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.FromMinutes(5).Ticks)) : TimeSpan.FromMinutes(1);
            await Task.Delay(interval, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task CheckAsync(TimeSpan limit, CancellationToken ct)
    {
        (DateTimeOffset? Last, int Live) state;
        try
        {
            state = await _store.RunAsync(ReadAsync, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Log.WebhookSilenceProbeFailed(_logger, e.GetType().Name);
            return;
        }

        if (state.Last is { } stored)
        {
            _clock.Observe(stored);
        }

        var last = _clock.Last;
        var silent = _time.GetUtcNow() - (last ?? _startedAt);
        if (silent < limit)
        {
            _warned = false;
            return;
        }

        if (state.Live > 0 && !_warned)
        {
            _warned = true;
            Log.WebhookSilence(_logger, Describe(silent), last is { } at ? at.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "none since this instance started", state.Live);
        }
    }

    private static async Task<(DateTimeOffset? Last, int Live)> ReadAsync(KavachDbScope scope, CancellationToken ct)
    {
        var db = scope.Db;
        var deliveries = db.Set<WebhookEventRecord>().AsNoTracking();
        DateTimeOffset? last;
        if (StoreProvider.IsSqlite(db))
        {
            // SQLite stores DateTimeOffset as text EF Core cannot aggregate; the embedded default is small.
            var all = await deliveries.Select(e => e.ReceivedAt).ToListAsync(ct).ConfigureAwait(false);
            last = all.Count == 0 ? null : all.Max();
        }
        else
        {
            last = await deliveries.MaxAsync(e => (DateTimeOffset?)e.ReceivedAt, ct).ConfigureAwait(false);
        }

        var live = await db.Set<SubscriptionRecord>().CountAsync(s => Live.Contains(s.Status), ct).ConfigureAwait(false);
        return (last, live);
    }

    private static string Describe(TimeSpan age) =>
        age.TotalHours >= 1 ? $"{age.TotalHours:0.#} h" : age.TotalMinutes >= 1 ? $"{age.TotalMinutes:0.#} min" : $"{age.TotalSeconds:0} s";
}
