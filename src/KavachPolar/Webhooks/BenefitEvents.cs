using System.Text.Json;
using KavachPolar.Polar;
using KavachPolar.Storage;

namespace KavachPolar.Webhooks;

/// <summary>
/// Reads the benefit events KavachPolar applies: <c>benefit_grant.created</c>, <c>updated</c>, <c>cycled</c> and
/// <c>revoked</c>, each carrying the full grant (a snapshot, applied behind the version guard whatever its type says).
/// The webhook union has no top-level discriminator (REFERENCE.md §9.2): the grant is read by its common fields.
/// </summary>
internal static class BenefitEvents
{
    /// <summary>The grant event types, as Polar names them.</summary>
    public static readonly string[] GrantTypes = ["benefit_grant.created", "benefit_grant.updated", "benefit_grant.cycled", "benefit_grant.revoked"];

    /// <summary><c>customer.state_changed</c>: read only as a trigger to reconcile the customer's grants.</summary>
    public const string CustomerStateChanged = "customer.state_changed";

    public static bool Handles(string type) => type == CustomerStateChanged || Array.IndexOf(GrantTypes, type) >= 0;

    /// <summary>The event with its grant, or with the reason it cannot be processed.</summary>
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

        if (type == CustomerStateChanged)
        {
            return ReadState(webhookId, type, timestampUs, data);
        }

        PolarBenefitGrant? grant;
        try
        {
            grant = data.Deserialize(PolarBenefitJsonContext.Default.PolarBenefitGrant);
        }
        catch (JsonException e)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is not a Polar BenefitGrant (at " + (e.Path ?? "$") + ")");
        }

        if (grant is null)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is null");
        }

        return Validate(grant) is { } error
            ? new PolarWebhookEvent(webhookId, type, timestampUs, null, error)
            : new PolarWebhookEvent(webhookId, type, timestampUs, null, null, Grant: grant);
    }

    private static PolarWebhookEvent ReadState(string webhookId, string type, long timestampUs, JsonElement data)
    {
        PolarCustomerState? state;
        try
        {
            state = data.Deserialize(PolarBenefitJsonContext.Default.PolarCustomerState);
        }
        catch (JsonException e)
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data is not a Polar CustomerState (at " + (e.Path ?? "$") + ")");
        }

        if (state is null || !TextSafety.IsIdentifier(state.Id, Limits.PolarId)
            || (state.GrantedBenefits ?? []).Any(g => !TextSafety.IsIdentifier(g.BenefitId, Limits.PolarId)))
        {
            return new PolarWebhookEvent(webhookId, type, timestampUs, null, "data has an empty, oversized or malformed customer or benefit id");
        }

        return new PolarWebhookEvent(webhookId, type, timestampUs, null, null, CustomerState: state);
    }

    /// <summary>What makes a grant unusable, or <see langword="null"/>.</summary>
    public static string? Validate(PolarBenefitGrant g)
    {
        if (!TextSafety.IsIdentifier(g.Id, Limits.PolarId) || !TextSafety.IsIdentifier(g.CustomerId, Limits.PolarId)
            || !TextSafety.IsIdentifier(g.BenefitId, Limits.PolarId)
            || (g.SubscriptionId is { } s && !TextSafety.IsIdentifier(s, Limits.PolarId))
            || (g.OrderId is { } o && !TextSafety.IsIdentifier(o, Limits.PolarId))
            || (g.MemberId is { } m && !TextSafety.IsIdentifier(m, Limits.PolarId)))
        {
            return "data has an empty, oversized or malformed id";
        }

        if (g.Benefit is null || !TextSafety.IsIdentifier(g.Benefit.Type, Limits.BenefitType))
        {
            return "data has no benefit type";
        }

        if (g.Customer?.ExternalId is { } external && external.Any(char.IsControl))
        {
            return "data names a user id with control characters";
        }

        return null;
    }
}
