using System.Text;
using System.Text.Json;
using KavachPolar.Polar;
using KavachPolar.Storage;

namespace KavachPolar.Webhooks;

/// <summary>
/// A verified delivery, parsed: the envelope <c>{"type","timestamp","api_version","data"}</c> and, for
/// <c>subscription.*</c> events, the Subscription in <c>data</c>. <see cref="PolarWebhookVerifier"/> says whether the
/// bytes are Polar's; <see cref="Read"/> says what they mean, in memory of its own (the caller's buffer may go back to a
/// pool while the database work still runs).
/// </summary>
/// <param name="WebhookId">The <c>webhook-id</c> header.</param>
/// <param name="Type">The event type, or <see langword="null"/> when the body has none.</param>
/// <param name="TimestampUs">The envelope's <c>timestamp</c> in Unix microseconds (0 when absent).</param>
/// <param name="Subscription">For a <c>subscription.*</c> event that reads cleanly: its data.</param>
/// <param name="Error">Why a signed body cannot be processed, or <see langword="null"/>.</param>
/// <param name="Payload">With <paramref name="Error"/>: the raw text, kept for a replay.</param>
/// <param name="Grant">For a <c>benefit_grant.*</c> event that reads cleanly: its data (<see cref="BenefitEvents"/>).</param>
/// <param name="CustomerState">For a <c>customer.state_changed</c> event that reads cleanly: its data, a trigger only.</param>
/// <param name="Order">For an <c>order.*</c> event that reads cleanly: its data (<see cref="OrderEvents"/>).</param>
internal sealed record PolarWebhookEvent(string WebhookId, string? Type, long TimestampUs, PolarSubscription? Subscription, string? Error, string? Payload = null, PolarBenefitGrant? Grant = null, PolarCustomerState? CustomerState = null, PolarOrder? Order = null)
{
    /// <summary>Parses a verified body; a body that cannot be processed keeps its text (see <see cref="Payload"/>).</summary>
    public static PolarWebhookEvent Read(string webhookId, ReadOnlySpan<byte> body)
    {
        var parsed = Parse(webhookId, body);
        return parsed.Error is null ? parsed : parsed with { Payload = TextSafety.ForTextColumn(Encoding.UTF8.GetString(body)) };
    }

    /// <summary>
    /// Reads the envelope <c>{"type","timestamp","api_version","data"}</c>; for <c>subscription.*</c>
    /// events, the full Subscription in <c>data</c>. Anything else is acknowledged and ignored.
    /// </summary>
    private static PolarWebhookEvent Parse(string webhookId, ReadOnlySpan<byte> body)
    {
        // The common case in one pass, without a document: a subscription event that reads cleanly. Anything else
        // (another event type, a body that does not read) takes the document below, which says what is wrong.
        if (PeekType(body) is { } peeked && peeked.StartsWith("subscription.", StringComparison.Ordinal))
        {
            try
            {
                if (JsonSerializer.Deserialize(body, PolarJsonContext.Default.PolarSubscriptionEvent) is { Data: { } data } e && e.Type == peeked)
                {
                    return Validate(webhookId, e.Type, e.Timestamp is { } t ? UnixTime.Microseconds(t) : 0, data);
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
            return new PolarWebhookEvent(webhookId, null, 0, null, "the body is not JSON");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var typeElement)
                || typeElement.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(typeElement.GetString()))
            {
                return new PolarWebhookEvent(webhookId, null, 0, null, "the body has no event type");
            }

            var type = typeElement.GetString()!;
            if (BenefitEvents.Handles(type))
            {
                return BenefitEvents.Read(webhookId, type, root);
            }

            if (OrderEvents.Handles(type))
            {
                return OrderEvents.Read(webhookId, type, root);
            }

            if (!type.StartsWith("subscription.", StringComparison.Ordinal))
            {
                return new PolarWebhookEvent(webhookId, type, 0, null, null);
            }

            long timestampUs = 0;
            if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.String && ts.TryGetDateTimeOffset(out var t))
            {
                timestampUs = UnixTime.Microseconds(t);
            }

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                return new PolarWebhookEvent(webhookId, type, timestampUs, null, "the event has no data object");
            }

            try
            {
                var subscription = data.Deserialize(PolarJsonContext.Default.PolarSubscription);
                return subscription is null
                    ? new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is null")
                    : Validate(webhookId, type, timestampUs, subscription);
            }
            catch (JsonException e)
            {
                return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is not a Polar Subscription (at " + (e.Path ?? "$") + ")");
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

    private static PolarWebhookEvent Validate(string webhookId, string type, long timestampUs, PolarSubscription s)
    {
        if (!TextSafety.IsIdentifier(s.Id, Limits.PolarId) || !TextSafety.IsIdentifier(s.CustomerId, Limits.PolarId)
            || !TextSafety.IsIdentifier(s.ProductId, Limits.PolarId) || !TextSafety.IsIdentifier(s.Status, Limits.Status)
            || (s.PendingUpdate?.ProductId is { } scheduled && !TextSafety.IsIdentifier(scheduled, Limits.PolarId)))
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data has an empty, oversized or malformed id or status");
        }

        var external = s.Customer?.ExternalId;
        var metadataUser = PolarMetadata.UserId(s.Metadata);
        if ((external is not null && external.Any(char.IsControl)) || (metadataUser is not null && metadataUser.Any(char.IsControl)))
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data names a user id with control characters");
        }

        return new PolarWebhookEvent(webhookId, type, timestampUs, s, null);
    }
}
