using System.Text;
using System.Text.Json;
using KavachPolar.Callbacks;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Webhooks;

/// <summary>
/// Applies one verified webhook delivery: dedup on <c>webhook-id</c>, then the event's effects, in
/// one transaction. Returns only after commit; database failures propagate so that the endpoint
/// answers 503 and Polar retries.
/// </summary>
internal sealed class WebhookProcessor(
    SubscriptionSynchronizer synchronizer,
    CallbackKinds kinds,
    CallbackSignal signal,
    ChangeAnnouncer announcer,
    IOptionsMonitor<KavachPolarOptions> options,
    TimeProvider time,
    ILogger<WebhookProcessor> logger)
{
    public const string Duplicate = "duplicate";

    /// <summary>
    /// Reads one verified delivery into memory of its own: the caller's buffer may go back to a pool while the
    /// database work still runs (see <see cref="StoreBudget"/>).
    /// </summary>
    public static Delivery Read(string webhookId, ReadOnlySpan<byte> body)
    {
        var parsed = Parse(body);
        var payload = parsed.Error is null ? null : TextSafety.ForTextColumn(Encoding.UTF8.GetString(body));
        return new Delivery(webhookId, parsed, payload);
    }

    /// <summary>
    /// Applies a delivery read by <see cref="Read"/>: the common case with one command on a raw connection where the
    /// database allows it (see <see cref="FastWebhookPath"/>), anything else on <paramref name="store"/>'s DbContext.
    /// </summary>
    public async Task<string> ProcessAsync(KavachDbScope store, Delivery delivery, CancellationToken ct)
    {
        var (webhookId, parsed, payload) = delivery;
        string outcome;
        if (parsed.Error is not null)
        {
            Log.WebhookUnprocessable(logger, webhookId, parsed.Type ?? "?", parsed.Error);
            outcome = await RecordOnlyAsync(store, webhookId, parsed.Type ?? "", WebhookOutcomes.Unprocessable, payload, parsed.Error, ct).ConfigureAwait(false);
        }
        else if (parsed.Subscription is { } subscription)
        {
            var organizationId = options.CurrentValue.OrganizationId;
            if (!string.IsNullOrEmpty(organizationId)
                && subscription.Customer?.OrganizationId is { } eventOrganization
                && !string.Equals(eventOrganization, organizationId, StringComparison.OrdinalIgnoreCase))
            {
                outcome = await RecordOnlyAsync(store, webhookId, parsed.Type!, WebhookOutcomes.OtherOrganization, null, null, ct).ConfigureAwait(false);
            }
            else
            {
                outcome = await ApplySubscriptionAsync(store, webhookId, parsed.Type!, subscription, parsed.TimestampUs, ct).ConfigureAwait(false);
            }
        }
        else
        {
            outcome = await RecordOnlyAsync(store, webhookId, parsed.Type!, WebhookOutcomes.Ignored, null, null, ct).ConfigureAwait(false);
        }

        Log.WebhookProcessed(logger, webhookId, parsed.Type ?? "?", outcome);
        return outcome;
    }

    private async Task<string> ApplySubscriptionAsync(KavachDbScope store, string webhookId, string type, PolarSubscription subscription, long timestampUs, CancellationToken ct)
    {
        // Whom this delivery may change: the users it names, then (general path) whom the write attributes or locks.
        var touched = new HashSet<string>(SubscriptionSynchronizer.NamedUsers(subscription), StringComparer.Ordinal);
        string outcome;
        try
        {
            outcome = await ApplyOrRecordAsync(store, webhookId, type, subscription, timestampUs, touched, ct).ConfigureAwait(false);
        }
        catch
        {
            // The commit may have happened anyway (a connection lost while committing, work given up at its budget
            // that finishes later): forget whom it may have changed, and tell the other instances.
            await announcer.AnnounceAsync(touched).ConfigureAwait(false);
            throw;
        }

        if (outcome is Duplicate or WebhookOutcomes.Stale)
        {
            // Polar's retry of a delivery whose first answer was lost, or the host's execution strategy retrying a
            // commit that went through: the earlier attempt may have committed without announcing. A snapshot that
            // names nobody belongs to whoever holds its customer: the stored subscription says who (the fast path's
            // function answers with it; the general path asks here).
            if (touched.Count == 0)
            {
                await store.OpenAsync(ct).ConfigureAwait(false);
                touched.UnionWith(await store.Db.Set<SubscriptionRecord>().AsNoTracking()
                    .Where(r => r.Id == subscription.Id && r.UserId != null).Select(r => r.UserId!).ToListAsync(ct).ConfigureAwait(false));
            }

            await announcer.AnnounceAsync(touched).ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<string> ApplyOrRecordAsync(KavachDbScope store, string webhookId, string type, PolarSubscription subscription, long timestampUs, HashSet<string> touched, CancellationToken ct)
    {
        try
        {
            // Whether the change is queued as a callback is decided here, before any transaction: this process's
            // handlers, else the kinds the app's hosts declared (read once, then refreshed in the background).
            await kinds.ReadyAsync(ct).ConfigureAwait(false);

            // The common case in one round trip where the database has the function (PostgreSQL, migrated).
            if (await FastWebhookPath.TryApplyAsync(store, synchronizer.FastCall(subscription, timestampUs, webhookId, RecordedType(type)), ct).ConfigureAwait(false) is { } fast)
            {
                if (fast.UserId is { } user)
                {
                    touched.Add(user);
                }

                if (fast.Outcome == WebhookOutcomes.Applied)
                {
                    await announcer.AnnounceAsync(fast.UserId).ConfigureAwait(false);
                }

                if (fast.Changes > 0)
                {
                    signal.Notify();
                }

                return fast.Outcome;
            }

            await store.OpenAsync(ct).ConfigureAwait(false);
            var db = store.Db;
            var (outcome, changes, users) = await StoreTransactions.RunAsync(
                db,
                async token =>
                {
                    // Every delivery of this subscription takes this customer lock first, so the
                    // duplicate check below cannot race with a concurrent twin on another instance.
                    await StoreTransactions.LockAsync(db, LockKeys.Customer(subscription.CustomerId), token).ConfigureAwait(false);
                    var recorded = await db.Set<WebhookEventRecord>().FirstOrDefaultAsync(e => e.Id == webhookId, token).ConfigureAwait(false);
                    if (recorded is not null && recorded.Outcome != WebhookOutcomes.Unprocessable)
                    {
                        return (Duplicate, 0, (string[]?)null);
                    }

                    var result = await synchronizer.ApplyAsync(db, subscription, timestampUs, webhookId, type, token, customerLocked: true, touched: touched).ConfigureAwait(false);
                    var o = result.Forgotten ? WebhookOutcomes.Forgotten : result.Applied ? WebhookOutcomes.Applied : WebhookOutcomes.Stale;
                    Record(db, recorded, webhookId, type, o, null, null);
                    await db.SaveChangesAsync(token).ConfigureAwait(false);
                    return (o, result.Changes, result.Users);
                },
                ct).ConfigureAwait(false);

            await announcer.AnnounceAsync(users ?? []).ConfigureAwait(false);
            if (changes > 0)
            {
                signal.Notify();
            }

            return outcome;
        }
        catch (Exception e) when (e is DbUpdateException u && StoreTransactions.IsUniqueViolation(u) || e is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation })
        {
            // The same webhook-id committed meanwhile under another customer id: still a duplicate.
            // Any other constraint violation (say, the host inserting the same kavach_users row at
            // the same moment) propagates: 503, and Polar retries.
            await store.OpenAsync(ct).ConfigureAwait(false);
            if (await IsRecordedAsync(store.Db, webhookId, ct).ConfigureAwait(false))
            {
                return Duplicate;
            }

            throw;
        }
    }

    private static async Task<bool> IsRecordedAsync(DbContext db, string webhookId, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        return await db.Set<WebhookEventRecord>().AsNoTracking().AnyAsync(e => e.Id == webhookId, ct).ConfigureAwait(false);
    }

    private async Task<string> RecordOnlyAsync(KavachDbScope store, string webhookId, string type, string outcome, string? payload, string? error, CancellationToken ct)
    {
        await store.OpenAsync(ct).ConfigureAwait(false);
        var db = store.Db;
        db.ChangeTracker.Clear();
        var recorded = await db.Set<WebhookEventRecord>().FirstOrDefaultAsync(e => e.Id == webhookId, ct).ConfigureAwait(false);
        if (recorded is not null && (recorded.Outcome != WebhookOutcomes.Unprocessable || outcome == WebhookOutcomes.Unprocessable))
        {
            // Still unprocessable on a redelivery: kept as it was recorded first.
            return recorded.Outcome == WebhookOutcomes.Unprocessable ? WebhookOutcomes.Unprocessable : Duplicate;
        }

        Record(db, recorded, webhookId, type, outcome, payload, error);
        try
        {
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
        }
        catch (DbUpdateException e) when (StoreTransactions.IsUniqueViolation(e))
        {
            if (await IsRecordedAsync(db, webhookId, ct).ConfigureAwait(false))
            {
                return Duplicate;
            }

            throw;
        }

        return outcome;
    }

    /// <summary>
    /// Records the delivery's outcome. A delivery recorded as unprocessable (by an earlier release, say) is not a
    /// duplicate: a redelivery or a replay that can process it now updates its row.
    /// </summary>
    private void Record(DbContext db, WebhookEventRecord? recorded, string id, string type, string outcome, string? payload, string? error)
    {
        if (recorded is null)
        {
            db.Add(NewRecord(id, type, outcome, payload, error));
            return;
        }

        recorded.EventType = RecordedType(type);
        recorded.Outcome = outcome;
        recorded.Payload = payload;
        recorded.Error = TextSafety.ForTextColumn(error, Limits.Error);
        recorded.ReceivedAt = time.GetUtcNow();
    }

    /// <summary>The event type as <c>kavach_polar_webhook_events.event_type</c> keeps it (what fits, NUL replaced).</summary>
    private static string RecordedType(string type) => TextSafety.ForTextColumn(type, Limits.EventType)!;

    private WebhookEventRecord NewRecord(string id, string type, string outcome, string? payload, string? error) => new()
    {
        Id = id,
        EventType = RecordedType(type),
        Outcome = outcome,
        ReceivedAt = time.GetUtcNow(),
        Payload = payload,
        Error = TextSafety.ForTextColumn(error, Limits.Error),
    };

    internal readonly record struct ParsedEvent(string? Type, long TimestampUs, PolarSubscription? Subscription, string? Error);

    /// <summary>A verified delivery, parsed, with its raw text when it cannot be processed.</summary>
    internal sealed record Delivery(string WebhookId, ParsedEvent Parsed, string? Payload);

    /// <summary>
    /// Reads the envelope <c>{"type","timestamp","api_version","data"}</c>; for <c>subscription.*</c>
    /// events, the full Subscription in <c>data</c>. Anything else is acknowledged and ignored.
    /// </summary>
    private static ParsedEvent Parse(ReadOnlySpan<byte> body)
    {
        // The common case in one pass, without a document: a subscription event that reads cleanly. Anything else
        // (another event type, a body that does not read) takes the document below, which says what is wrong.
        if (PeekType(body) is { } peeked && peeked.StartsWith("subscription.", StringComparison.Ordinal))
        {
            try
            {
                if (JsonSerializer.Deserialize(body, PolarJsonContext.Default.PolarSubscriptionEvent) is { Data: { } data } e && e.Type == peeked)
                {
                    return Validate(e.Type, e.Timestamp is { } t ? UnixTime.Microseconds(t) : 0, data);
                }
            }
            catch (JsonException)
            {
            }
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException)
        {
            return new ParsedEvent(null, 0, null, "the body is not JSON");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var typeElement)
                || typeElement.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(typeElement.GetString()))
            {
                return new ParsedEvent(null, 0, null, "the body has no event type");
            }

            var type = typeElement.GetString()!;
            if (!type.StartsWith("subscription.", StringComparison.Ordinal))
            {
                return new ParsedEvent(type, 0, null, null);
            }

            long timestampUs = 0;
            if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.String && ts.TryGetDateTimeOffset(out var t))
            {
                timestampUs = UnixTime.Microseconds(t);
            }

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                return new ParsedEvent(type, timestampUs, null, "the event has no data object");
            }

            try
            {
                var subscription = data.Deserialize(PolarJsonContext.Default.PolarSubscription);
                return subscription is null
                    ? new ParsedEvent(type, timestampUs, null, "data is null")
                    : Validate(type, timestampUs, subscription);
            }
            catch (JsonException e)
            {
                return new ParsedEvent(type, timestampUs, null, "data is not a Polar Subscription (at " + (e.Path ?? "$") + ")");
            }
        }
    }

    /// <summary>The top-level <c>type</c> string, or <see langword="null"/>; reads no further than it has to.</summary>
    private static string? PeekType(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static ParsedEvent Validate(string type, long timestampUs, PolarSubscription s)
    {
        if (!TextSafety.IsIdentifier(s.Id, Limits.PolarId) || !TextSafety.IsIdentifier(s.CustomerId, Limits.PolarId)
            || !TextSafety.IsIdentifier(s.ProductId, Limits.PolarId) || !TextSafety.IsIdentifier(s.Status, Limits.Status)
            || (s.PendingUpdate?.ProductId is { } scheduled && !TextSafety.IsIdentifier(scheduled, Limits.PolarId)))
        {
            return new ParsedEvent(type, timestampUs, null, "data has an empty, oversized or malformed id or status");
        }

        var external = s.Customer?.ExternalId;
        var metadataUser = PolarMetadata.UserId(s.Metadata);
        if ((external is not null && external.Any(char.IsControl)) || (metadataUser is not null && metadataUser.Any(char.IsControl)))
        {
            return new ParsedEvent(type, timestampUs, null, "data names a user id with control characters");
        }

        return new ParsedEvent(type, timestampUs, s, null);
    }

}
