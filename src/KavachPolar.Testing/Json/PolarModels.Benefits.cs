using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Json;

internal sealed partial class PolarModels
{
    /// <summary>The full <c>Benefit</c> (discriminated by <c>type</c>), as in products, the benefit API and grants.</summary>
    public JsonObject Benefit(BenefitRecord b)
    {
        var o = BenefitPublic(b);
        o["metadata"] = b.Metadata.DeepClone();
        o["visibility"] = b.Visibility;
        o["properties"] = b.Properties.DeepClone();
        o["visibility_configurable"] = b.VisibilityConfigurable;
        return o;
    }

    /// <summary><c>BenefitPublic</c>: what a checkout's product shows of its public benefits.</summary>
    public JsonObject BenefitPublic(BenefitRecord b) => new()
    {
        ["id"] = b.Id,
        ["created_at"] = PolarJson.Date(b.CreatedAt),
        ["modified_at"] = null,
        ["type"] = b.Type,
        ["description"] = b.Description,
        ["selectable"] = true,
        ["deletable"] = true,
        ["is_deleted"] = false,
        ["organization_id"] = OrganizationId,
    };

    /// <summary><c>Member</c>.</summary>
    public static JsonObject Member(MemberRecord m) => new()
    {
        ["id"] = m.Id,
        ["created_at"] = PolarJson.Date(m.CreatedAt),
        ["modified_at"] = null,
        ["customer_id"] = m.CustomerId,
        ["email"] = m.Email,
        ["name"] = m.Name,
        ["external_id"] = m.ExternalId,
        ["role"] = m.Role,
    };

    /// <summary>
    /// <c>BenefitGrant</c> (REST) or the <c>BenefitGrant*Webhook</c> of its benefit's type, which adds
    /// <c>previous_properties</c>; the deprecated computed <c>user_id</c> comes last, as pydantic writes computed fields.
    /// </summary>
    public JsonObject BenefitGrant(BenefitGrantRecord g, bool webhook)
    {
        var member = g.MemberId is null ? null : store.OwnerOf(g.CustomerId);
        var o = new JsonObject
        {
            ["created_at"] = PolarJson.Date(g.CreatedAt),
            ["modified_at"] = PolarJson.Date(g.ModifiedAt),
            ["id"] = g.Id,
            ["granted_at"] = PolarJson.Date(g.GrantedAt),
            ["is_granted"] = g.IsGranted,
            ["revoked_at"] = PolarJson.Date(g.RevokedAt),
            ["is_revoked"] = g.IsRevoked,
            ["subscription_id"] = g.SubscriptionId,
            ["order_id"] = g.OrderId,
            ["customer_id"] = g.CustomerId,
            ["member_id"] = g.MemberId,
            ["benefit_id"] = g.BenefitId,
            ["error"] = g.Error?.DeepClone(),
            ["customer"] = Customer(store.Customer(g.CustomerId)),
            ["member"] = member is null ? null : Member(member),
            ["benefit"] = Benefit(store.Benefit(g.BenefitId)),
            ["properties"] = g.Properties.DeepClone(),
        };
        if (webhook)
        {
            o["previous_properties"] = g.PreviousProperties?.DeepClone();
        }

        o["user_id"] = g.CustomerId;
        return o;
    }

    /// <summary><c>CustomerStateBenefitGrant</c>: no subscription, order or member ids.</summary>
    public JsonObject StateBenefitGrant(BenefitGrantRecord g)
    {
        var b = store.Benefit(g.BenefitId);
        return new JsonObject
        {
            ["id"] = g.Id,
            ["created_at"] = PolarJson.Date(g.CreatedAt),
            ["modified_at"] = PolarJson.Date(g.ModifiedAt),
            ["granted_at"] = PolarJson.Date(g.GrantedAt),
            ["benefit_id"] = g.BenefitId,
            ["benefit_type"] = b.Type,
            ["benefit_metadata"] = b.Metadata.DeepClone(),
            ["properties"] = g.Properties.DeepClone(),
        };
    }
}
