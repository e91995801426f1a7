using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Usage;

/// <summary>
/// Delivers the usage events waiting in <c>kavach_polar_usage_events</c> to Polar's <c>POST /v1/events/ingest</c>, on
/// every instance: claims a batch under a lease (<see cref="UsageQueue"/>), sends it in bodies under Polar's 10 MiB limit
/// by <c>external_customer_id</c> with each event's <c>external_id</c>, and settles what Polar answered. Polar keeps each
/// <c>external_id</c> once, forever (its answer counts the rest as <c>duplicates</c>), so sending an event again — after
/// a crash between Polar's answer and the settle, a lease that ran out, a lost answer — is never counted twice; an
/// event is marked accepted only after Polar's 200, so none is lost either. A 422 names each bad event by its index in
/// <c>loc</c>: those are quarantined with Polar's error and the rest sent again at once; a timestamp Polar finds in its
/// future (its clock behind this one) is sent again without a timestamp, so Polar stamps it. A 429 (Polar's, or this
/// instance's budget of Polar calls) waits for <c>Retry-After</c>; 5xx, timeouts and an unreachable Polar back off
/// from 1 s to <see cref="UsageSendSettings.MaxBackoff"/>.
/// </summary>
internal sealed class UsageSender(
    IServiceScopeFactory scopes,
    UsageSignal signal,
    UsageSendSettings settings,
    TimeProvider time,
    ILogger<UsageSender> logger) : BackgroundService
{
    private static readonly TimeSpan PurgeEvery = TimeSpan.FromMinutes(5);

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _rounds;
    private long? _purgedAt;
    private DateTimeOffset _holdUntil;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var woken = true; // the first round claims: events may have waited while no instance ran
        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            var wait = settings.IdlePollInterval;
            try
            {
                if (time.GetUtcNow() >= _holdUntil)
                {
                    // Woken by a commit: claim. Woken by the clock: look first, quietly where that is possible (see
                    // UsageQueue.UntilNextDueQuietlyAsync), so an idle host's poll costs one read and no log line, and
                    // sleep until the next retry is due rather than polling every second.
                    var until = woken ? TimeSpan.Zero : await UntilNextDueAsync(stoppingToken).ConfigureAwait(false);
                    if (until == TimeSpan.Zero)
                    {
                        worked = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                    }
                    else if (until is { } later)
                    {
                        wait = later;
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.UsageSenderStoreFailed(logger, e.GetType().Name, e.Message);
                wait = settings.PollInterval;
            }

            woken = true;
            if (!worked)
            {
                try
                {
                    var hold = _holdUntil - time.GetUtcNow();
                    if (hold > TimeSpan.Zero)
                    {
                        wait = hold;
                    }

                    wait = wait < settings.PollInterval ? settings.PollInterval : wait > settings.IdlePollInterval ? settings.IdlePollInterval : wait;
                    woken = await signal.WaitAsync(wait, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task<TimeSpan?> UntilNextDueAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        return await UsageQueue.UntilNextDueQuietlyAsync(store.Db, ct).ConfigureAwait(false);
    }

    /// <summary>Claims and sends one batch. Returns whether there was anything to send.</summary>
    internal async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await using var store = KavachDbScope.Open(scopes);
        var db = store.Db;
        if (_purgedAt is not { } purged || time.GetElapsedTime(purged) > PurgeEvery)
        {
            _purgedAt = time.GetTimestamp();
            await UsageQueue.PurgeAcceptedAsync(db, NowUs() - (long)settings.KeepAccepted.TotalMicroseconds, CancellationToken.None).ConfigureAwait(false);
        }

        var token = _owner + ":" + Interlocked.Increment(ref _rounds).ToString(CultureInfo.InvariantCulture);
        List<UsageQueue.Claimed> claimed;
        try
        {
            // Not cancelled by shutdown: a claim whose answer is lost parks its rows for the lease.
            claimed = await UsageQueue.ClaimAsync(db, token, settings.BatchSize, settings.Lease, NowUs(), CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await TryReleaseAsync(db, token).ConfigureAwait(false);
            throw;
        }

        if (claimed.Count == 0)
        {
            return false;
        }

        await using var polarScope = scopes.CreateAsyncScope();
        var polar = polarScope.ServiceProvider.GetRequiredService<PolarApiClient>();
        var pending = new Queue<UsageQueue.Claimed>(claimed);
        using var sending = new CancellationTokenSource();
        var renewing = RenewWhileSendingAsync(token, sending.Token);
        try
        {
            while (pending.Count > 0)
            {
                var chunk = TakeChunk(pending, out var tooLarge);
                foreach (var big in tooLarge)
                {
                    var error = $"The event alone is larger than Polar's request limit of {settings.MaxBodyBytes} bytes.";
                    await UsageQueue.QuarantineAsync(db, big.Id, token, error, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                    Log.UsageEventsQuarantined(logger, 1, error);
                }

                if (chunk.Count > 0 && !await SendAsync(db, polar, token, chunk, ct).ConfigureAwait(false))
                {
                    // Polar asked to wait, or failed: the rest of the batch waits the same.
                    var rest = pending.Select(p => p.Id).ToList();
                    pending.Clear();
                    await UsageQueue.RetryAsync(db, rest, token, _holdUntil > time.GetUtcNow() ? _holdUntil - time.GetUtcNow() : TimeSpan.Zero, "not sent: an earlier request of the batch failed", NowUs(), CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: whatever Polar got is safe to send again; hand the rest back now, not when the lease ends.
            await TryReleaseAsync(db, token).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await sending.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// Keeps the batch's lease while it is being sent: every quarter of <see cref="UsageSendSettings.Lease"/> it is
    /// extended to a full lease from now, on a connection of its own. A batch takes as many requests as it has bodies,
    /// plus one per 422 round, each up to Polar's call timeout; without renewal a slow Polar would let the lease run out
    /// mid-batch, and another instance would claim and send the same events (harmless, since Polar keeps each
    /// <c>external_id</c> once, but twice the calls and a settle that finds the rows gone). A process that dies stops
    /// renewing, so its events are free again one lease later. Failures are logged and tried again at the next tick.
    /// </summary>
    private async Task RenewWhileSendingAsync(string token, CancellationToken sending)
    {
        var every = settings.Lease / 4;
        while (true)
        {
            try
            {
                await Task.Delay(every, time, sending).ConfigureAwait(false);
                await using var store = KavachDbScope.Open(scopes);
                await UsageQueue.RenewAsync(store.Db, token, settings.Lease, NowUs(), sending).ConfigureAwait(false);
            }
            catch (Exception) when (sending.IsCancellationRequested)
            {
                return; // the batch is settled (or handed back): nothing left to keep
            }
            catch (Exception e)
            {
                Log.UsageSenderStoreFailed(logger, e.GetType().Name, e.Message);
            }
        }
    }

    /// <summary>
    /// Sends one chunk until Polar accepts what is left of it. Returns false when Polar failed or asked to wait (the
    /// chunk is rescheduled).
    /// </summary>
    private async Task<bool> SendAsync(Microsoft.EntityFrameworkCore.DbContext db, PolarApiClient polar, string token, List<UsageQueue.Claimed> chunk, CancellationToken ct)
    {
        var withoutTimestamp = new HashSet<long>();
        while (chunk.Count > 0)
        {
            var body = Body(chunk, withoutTimestamp);
            var result = await polar.IngestEventsAsync(body, ct).ConfigureAwait(false);
            var ids = chunk.Select(c => c.Id).ToList();
            if (result.IsSuccess)
            {
                await UsageQueue.AcceptAsync(db, ids, token, NowUs(), CancellationToken.None).ConfigureAwait(false);
                Log.UsageEventsSent(logger, chunk.Count, result.Value!.Inserted, result.Value.Duplicates);
                return true;
            }

            var error = result.Error!;
            if (error.Kind == PolarErrorKind.Validation && Refused(error, chunk.Count) is { Count: > 0 } refused)
            {
                var next = new List<UsageQueue.Claimed>(chunk.Count);
                var quarantined = 0;
                string? first = null;
                for (var i = 0; i < chunk.Count; i++)
                {
                    if (!refused.TryGetValue(i, out var problems))
                    {
                        next.Add(chunk[i]);
                    }
                    else if (problems.All(p => p.Timestamp) && withoutTimestamp.Add(chunk[i].Id))
                    {
                        // Polar's clock is behind ours: let Polar stamp it (the timestamp only places it on charts).
                        Log.UsageTimestampInPolarsFuture(logger, chunk[i].ExternalId);
                        next.Add(chunk[i]);
                    }
                    else
                    {
                        var text = string.Join("; ", problems.Select(p => p.Text));
                        first ??= text;
                        quarantined++;
                        await UsageQueue.QuarantineAsync(db, chunk[i].Id, token, text, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                    }
                }

                if (quarantined > 0)
                {
                    Log.UsageEventsQuarantined(logger, quarantined, first!);
                }

                chunk = next;
                continue;
            }

            var delay = error.Kind == PolarErrorKind.RateLimited
                ? error.RetryAfter ?? TimeSpan.FromSeconds(1)
                : Backoff(chunk.Max(c => c.Attempts));
            _holdUntil = time.GetUtcNow() + delay;
            var reason = $"Polar answered {(error.StatusCode is { } s ? "HTTP " + s.ToString(CultureInfo.InvariantCulture) : "nothing")} ({error.Code ?? error.Kind.ToString()})";
            Log.UsageBatchNotAccepted(logger, chunk.Count, reason, delay);
            await UsageQueue.RetryAsync(db, ids, token, delay, reason, NowUs(), CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>One refusal of one event: Polar's message with its field, and whether it is the future-timestamp rule.</summary>
    private readonly record struct Problem(string Text, bool Timestamp);

    /// <summary>
    /// The events Polar's 422 names, by index (<c>loc</c> = <c>["body","events",i,(union member),field...]</c>). For
    /// the union's other member (<c>EventCreateCustomer</c>, which this sender never uses) Polar also lists the missing
    /// <c>customer_id</c>: those errors are left out of what is kept. Empty when no error names an event.
    /// </summary>
    private static Dictionary<int, List<Problem>> Refused(PolarApiError error, int count)
    {
        var refused = new Dictionary<int, List<Problem>>();
        foreach (var e in error.FieldErrors)
        {
            if (e.Loc is not { Length: >= 3 } loc
                || loc[0].ValueKind != JsonValueKind.String || loc[0].GetString() != "body"
                || loc[1].ValueKind != JsonValueKind.String || loc[1].GetString() != "events"
                || loc[2].ValueKind != JsonValueKind.Number || !loc[2].TryGetInt32(out var index) || index < 0 || index >= count)
            {
                continue;
            }

            if (!refused.TryGetValue(index, out var list))
            {
                refused[index] = list = [];
            }

            var member = loc.Length > 3 && loc[3].ValueKind == JsonValueKind.String ? loc[3].GetString() : null;
            if (member == "EventCreateCustomer")
            {
                continue;
            }

            var field = string.Join('.', loc.Skip(member is "EventCreateExternalCustomer" ? 4 : 3).Select(l => l.ValueKind == JsonValueKind.String ? l.GetString() : l.GetRawText()));
            var timestamp = field == "timestamp" && e.Message.Contains("in the past", StringComparison.Ordinal);
            list.Add(new Problem((field.Length == 0 ? "" : field + ": ") + e.Message, timestamp));
        }

        // An event named only through the other union member: keep what Polar said all the same.
        foreach (var (index, list) in refused)
        {
            if (list.Count == 0)
            {
                list.Add(new Problem("refused by Polar's validation", false));
            }
        }

        return refused;
    }

    /// <summary>Takes from <paramref name="pending"/> the events that fit in one body; one too large alone goes to <paramref name="tooLarge"/>.</summary>
    private List<UsageQueue.Claimed> TakeChunk(Queue<UsageQueue.Claimed> pending, out List<UsageQueue.Claimed> tooLarge)
    {
        var chunk = new List<UsageQueue.Claimed>();
        tooLarge = [];
        long size = 16;
        while (pending.TryPeek(out var next))
        {
            var cost = EstimatedSize(next);
            if (16 + cost > settings.MaxBodyBytes)
            {
                tooLarge.Add(pending.Dequeue());
                continue;
            }

            if (size + cost > settings.MaxBodyBytes)
            {
                break;
            }

            size += cost;
            chunk.Add(pending.Dequeue());
        }

        return chunk;
    }

    /// <summary>An upper bound of the event's bytes in the body (JSON escaping at most sextuples a character).</summary>
    private static long EstimatedSize(UsageQueue.Claimed e) =>
        160 + (6L * (Encoding.UTF8.GetByteCount(e.Name) + Encoding.UTF8.GetByteCount(e.UserId) + Encoding.UTF8.GetByteCount(e.ExternalId)))
            + Encoding.UTF8.GetByteCount(e.Metadata);

    /// <summary><c>{"events":[...]}</c>: each event by <c>external_customer_id</c>, its <c>external_id</c>, a timestamp not after now.</summary>
    private byte[] Body(List<UsageQueue.Claimed> chunk, HashSet<long> withoutTimestamp)
    {
        var nowUs = NowUs();
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("events");
            foreach (var e in chunk)
            {
                writer.WriteStartObject();
                writer.WriteString("name", e.Name);
                writer.WriteString("external_customer_id", e.UserId);
                writer.WriteString("external_id", e.ExternalId);
                if (!withoutTimestamp.Contains(e.Id))
                {
                    // A clock that went back since the event was recorded would put it in the future: clamped to now.
                    var us = Math.Min(e.TimestampUs, nowUs);
                    writer.WriteString("timestamp", DateTimeOffset.UnixEpoch.AddTicks(us * 10).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
                }

                writer.WritePropertyName("metadata");
                writer.WriteRawValue(e.Metadata, skipInputValidation: true);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private TimeSpan Backoff(int attempts)
    {
        var seconds = Math.Pow(2, Math.Min(attempts, 20));
        return TimeSpan.FromSeconds(Math.Min(seconds, settings.MaxBackoff.TotalSeconds));
    }

    private async Task TryReleaseAsync(Microsoft.EntityFrameworkCore.DbContext db, string token)
    {
        try
        {
            await UsageQueue.ReleaseAsync(db, token, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The lease runs out on its own; another instance (or this one) sends them then.
            Log.UsageSenderStoreFailed(logger, e.GetType().Name, e.Message);
        }
    }

    private long NowUs() => UnixTime.Microseconds(time.GetUtcNow());
}
