using System.Text.Json;
using KavachPolar.Polar;
using KavachPolar.Storage;

namespace KavachPolar.Webhooks;

/// <summary>
/// Reads the order events KavachPolar applies: <c>order.created</c>, <c>updated</c>, <c>paid</c> and <c>refunded</c>,
/// each carrying the full order (a snapshot, applied behind the version guard whatever its type says). A refund's
/// effect on the order comes as <c>order.updated</c> (then <c>order.refunded</c>, partial refunds too), and a reverted
/// refund as <c>order.updated</c> alone (REFERENCE.md §9.8), so <c>refund.created</c> and <c>refund.updated</c> are
/// recorded and ignored: the order events carry the state.
/// </summary>
internal static class OrderEvents
{
    /// <summary>The order event types, as Polar names them.</summary>
    public static readonly string[] Types = ["order.created", "order.updated", "order.paid", "order.refunded"];

    public static bool Handles(string type) => Array.IndexOf(Types, type) >= 0;

    /// <summary>The event with its order, or with the reason it cannot be processed.</summary>
    public static PolarWebhookEvent Read(string webhookId, string type, JsonElement root)
    {
        long timestampUs = 0;
        if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.String && ts.TryGetDateTimeOffset(out var t))
        {
            timestampUs = UnixTime.Microseconds(t);
        }

        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "the event has no data object");
        }

        PolarOrder? order;
        try
        {
            order = data.Deserialize(PolarOrderJsonContext.Default.PolarOrder);
        }
        catch (JsonException e)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is not a Polar Order (at " + (e.Path ?? "$") + ")");
        }

        if (order is null)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is null");
        }

        return Validate(order) is { } error
            ? new PolarWebhookEvent(webhookId, type, timestampUs, null, error)
            : new PolarWebhookEvent(webhookId, type, timestampUs, null, null, Order: order);
    }

    /// <summary>What makes an order unusable, or <see langword="null"/>.</summary>
    public static string? Validate(PolarOrder o)
    {
        if (!TextSafety.IsIdentifier(o.Id, Limits.PolarId) || !TextSafety.IsIdentifier(o.CustomerId, Limits.PolarId)
            || (o.ProductId is { } p && !TextSafety.IsIdentifier(p, Limits.PolarId))
            || (o.SubscriptionId is { } s && !TextSafety.IsIdentifier(s, Limits.PolarId))
            || (o.CheckoutId is { } c && !TextSafety.IsIdentifier(c, Limits.PolarId)))
        {
            return "data has an empty, oversized or malformed id";
        }

        if (!TextSafety.IsIdentifier(o.Status, Limits.Status) || !TextSafety.IsIdentifier(o.BillingReason, Limits.Status)
            || !TextSafety.IsIdentifier(o.Currency, Limits.Currency))
        {
            return "data has an empty, oversized or malformed status, billing reason or currency";
        }

        var external = o.Customer?.ExternalId;
        var metadataUser = PolarMetadata.UserId(o.Metadata);
        if ((external is not null && external.Any(char.IsControl)) || (metadataUser is not null && metadataUser.Any(char.IsControl)))
        {
            return "data names a user id with control characters";
        }

        return null;
    }
}
