using KavachPolar.Callbacks;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KavachPolar.Health;

/// <summary>
/// KavachPolar's health: Unhealthy (or the registration's failure status) only when the database does not answer within
/// <see cref="KavachPolarOptions.DatabaseTimeout"/>, since then every webhook answers 503; each backlog (a change its
/// handlers have not taken, deliveries waiting for a replay, announcements not sent) makes it Degraded at most. Every
/// description says what to do.
/// </summary>
internal sealed class KavachPolarHealthCheck(
    KavachStore store,
    CacheAnnouncer announcer,
    IOptionsMonitor<KavachPolarOptions> options,
    TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.CurrentValue;
        Backlog backlog;
        try
        {
            backlog = await store.RunAsync(ReadBacklogAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, cancellationToken))
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                $"The database did not answer within DatabaseTimeout ({settings.DatabaseTimeout.TotalSeconds:0.#} s): webhooks answer 503 (Polar retries them) and user routes answer 503. Check the connection string and that the database is up.",
                e);
        }

        var data = new Dictionary<string, object>
        {
            ["unprocessable_deliveries"] = backlog.Unprocessable,
            ["announcements_waiting"] = announcer.Waiting,
        };
        var problems = new List<string>();
        if (backlog.OldestCallback is { } oldest)
        {
            var age = time.GetUtcNow() - oldest.CreatedAt;
            data["oldest_callback_age_seconds"] = Math.Max(0, (long)age.TotalSeconds);
            if (age >= settings.Health.CallbackBacklogAge)
            {
                problems.Add($"The oldest change waiting for OnSubscriptionChange handlers was queued {Describe(age)} ago ({oldest.Attempts} attempts{(oldest.LastError is null ? "" : ", last error: " + oldest.LastError)}): fix the failing handler, or run an instance that registers one; it is retried on its own (log event 3001 names each failure).");
            }
        }

        if (backlog.Unprocessable >= settings.Health.UnprocessableDeliveries && backlog.Unprocessable > 0)
        {
            problems.Add($"{backlog.Unprocessable} signed webhook deliveries could not be processed and are kept: fix the cause named in their error column in kavach_polar_webhook_events (log event 2002), then call IKavachPolarSubscriptions.ReplayUnprocessableAsync.");
        }

        data["quarantined_usage_events"] = backlog.QuarantinedUsage;
        if (backlog.QuarantinedUsage >= settings.Health.QuarantinedUsageEvents && backlog.QuarantinedUsage > 0)
        {
            problems.Add($"{backlog.QuarantinedUsage} usage events were refused by Polar's validation and are quarantined in kavach_polar_usage_events with Polar's error in last_error (log event 2501): fix the cause, then call IKavachPolarUsage.ReplayQuarantinedAsync.");
        }

        if (backlog.OldestUsage is { } oldestUsage)
        {
            var age = time.GetUtcNow() - oldestUsage.RecordedAt;
            data["oldest_usage_event_age_seconds"] = Math.Max(0, (long)age.TotalSeconds);
            if (age >= settings.Health.UsageBacklogAge)
            {
                problems.Add($"The oldest usage event not yet accepted by Polar was recorded {Describe(age)} ago ({oldestUsage.Attempts} attempts{(oldestUsage.LastError is null ? "" : ", last error: " + oldestUsage.LastError)}): check that Polar answers and the token has events:write (log event 2502); events are sent on their own once it does.");
            }
        }

        if (announcer.Waiting >= settings.Health.AnnouncementsWaiting && announcer.Waiting > 0)
        {
            problems.Add($"{announcer.Waiting} users' changes wait to be announced to the other instances, whose caches may serve older state for up to ReadCacheExpiry: check this instance's database connection (log event 3004).");
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy("The database answers and nothing waits.", data)
            : HealthCheckResult.Degraded(string.Join(" ", problems), data: data);
    }

    private static async Task<Backlog> ReadBacklogAsync(KavachDbScope scope, CancellationToken ct)
    {
        // Ids grow with time, so the smallest is the oldest; EF Core's SQLite provider cannot order by DateTimeOffset.
        var oldest = await scope.Db.Set<PendingCallbackRecord>().AsNoTracking()
            .OrderBy(c => c.Id)
            .Select(c => new OldestCallback(c.CreatedAt, c.Attempts, c.LastError))
            .FirstOrDefaultAsync(ct).ConfigureAwait(false);
        var unprocessable = await scope.Db.Set<WebhookEventRecord>().CountAsync(e => e.Outcome == WebhookOutcomes.Unprocessable, ct).ConfigureAwait(false);
        var usage = scope.Db.Set<UsageEventRecord>().AsNoTracking();
        var quarantined = await usage.CountAsync(e => e.QuarantinedAt != null, ct).ConfigureAwait(false);
        var oldestUsage = await usage.Where(e => e.AcceptedAtUs == null && e.QuarantinedAt == null)
            .OrderBy(e => e.Id)
            .Select(e => new OldestUsage(e.RecordedAt, e.Attempts, e.LastError))
            .FirstOrDefaultAsync(ct).ConfigureAwait(false);
        return new Backlog(oldest, unprocessable, quarantined, oldestUsage);
    }

    private static string Describe(TimeSpan age) =>
        age.TotalHours >= 1 ? $"{age.TotalHours:0.#} h" : age.TotalMinutes >= 1 ? $"{age.TotalMinutes:0.#} min" : $"{age.TotalSeconds:0} s";

    private sealed record OldestCallback(DateTimeOffset CreatedAt, int Attempts, string? LastError);

    private sealed record OldestUsage(DateTimeOffset RecordedAt, int Attempts, string? LastError);

    private sealed record Backlog(OldestCallback? OldestCallback, int Unprocessable, int QuarantinedUsage, OldestUsage? OldestUsage);
}
