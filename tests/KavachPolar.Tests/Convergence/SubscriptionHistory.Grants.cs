using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;

namespace KavachPolar.Tests.Convergence;

/// <summary>One state of a Polar benefit grant, as its <c>benefit_grant.*</c> event carries it.</summary>
internal sealed record GrantSnapshot(
    string Id,
    string SubscriptionId,
    string CustomerId,
    string BenefitId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ModifiedAt,
    DateTimeOffset? GrantedAt,
    DateTimeOffset? RevokedAt,
    bool ActionRequired,
    bool AccountLinked)
{
    public long VersionUs => SubscriptionSnapshot.Us(ModifiedAt ?? CreatedAt);

    public bool IsGranted => GrantedAt is not null;
}

/// <summary>A benefit of the generated catalogue: its id, Polar's type and the products that carry it.</summary>
internal sealed record PlannedBenefit(string Id, string Type, string Description, int[] Products);

/// <summary>
/// The grants Polar's benefit grant service sends along the subscription histories (REFERENCE.md §9.3–§9.5, the
/// emulator's <c>EmulatorStore.Benefits</c>): a subscription that becomes active or trialing gets a grant per benefit of
/// its product (a Discord grant fails with "action required" until the customer links an account, then turns granted in
/// <c>benefit_grant.updated</c>); past_due (grace 0), cancellation's end and an immediate revoke revoke every granted
/// grant; recovery grants again under the same ids (<c>created</c> again, with a <c>modified_at</c>); a renewal sends
/// <c>cycled</c> for each granted grant; a plan change at renewal revokes the benefits the new product lacks and grants
/// its new ones, shared ones untouched. Every grant event has its own <c>webhook-id</c> and a later version.
/// </summary>
internal sealed partial class SubscriptionHistory
{
    private readonly Dictionary<string, List<GrantSnapshot>> _grantsOfSubscription = new(StringComparer.Ordinal);

    /// <summary>Customers of member-model organizations: their grants carry the owner member.</summary>
    private readonly Dictionary<string, string?> _ownerMembers = new(StringComparer.Ordinal);

    /// <summary>The catalogue: one benefit on every product (so a user with two subscriptions holds it twice), two on two
    /// products each, and a Discord role on one.</summary>
    public List<PlannedBenefit> Benefits { get; } = [];

    /// <summary>The newest snapshot of each grant: what the store must end with.</summary>
    public Dictionary<string, GrantSnapshot> FinalGrants { get; } = new(StringComparer.Ordinal);

    public int GrantEvents { get; private set; }

    /// <summary>
    /// The benefits each user holds at Polar at the end: any grant granted, over the grants of the subscriptions
    /// attributed to the user (orphans' grants belong to nobody).
    /// </summary>
    public Dictionary<string, SortedSet<string>> HeldByUser()
    {
        var held = Users.ToDictionary(u => u.Id, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var g in FinalGrants.Values.Where(g => g.IsGranted))
        {
            if (UserOfSubscription[g.SubscriptionId] is { Length: > 0 } user)
            {
                held[user].Add(g.BenefitId);
            }
        }

        return held;
    }

    private void BuildBenefits()
    {
        Benefits.Add(new PlannedBenefit(NewId(), "custom", "Priority support", [0, 1, 2]));
        Benefits.Add(new PlannedBenefit(NewId(), "license_keys", "License key", [0, 1]));
        Benefits.Add(new PlannedBenefit(NewId(), "downloadables", "Downloads", [1, 2]));
        Benefits.Add(new PlannedBenefit(NewId(), "discord", "Discord role", [2]));
    }

    private IEnumerable<PlannedBenefit> BenefitsOf(string productId)
    {
        var index = Array.IndexOf(_products, productId);
        return Benefits.Where(b => b.Products.Contains(index));
    }

    /// <summary>
    /// <c>enqueue_benefits_grants</c> after a subscription change: revoke granted grants of benefits the product lacks;
    /// when active or trialing, grant the product's benefits not granted (skipping those waiting for a customer action),
    /// else revoke every granted grant.
    /// </summary>
    private void SyncGrants(PlannedUser user, SubscriptionSnapshot s, ref DateTimeOffset t)
    {
        var grants = GrantsOf(s.Id);
        var benefits = BenefitsOf(s.ProductId).ToList();
        foreach (var g in grants.Where(g => g.IsGranted && benefits.All(b => b.Id != g.BenefitId)).ToList())
        {
            Revoke(user, s, g, ref t);
        }

        if (s.IsEntitled)
        {
            foreach (var b in benefits)
            {
                var existing = grants.FirstOrDefault(g => g.BenefitId == b.Id);
                if (existing is { IsGranted: true } or { ActionRequired: true })
                {
                    continue;
                }

                t = t.AddMilliseconds(1 + _rng.Next(50));
                var linked = existing?.AccountLinked ?? false;
                var failed = b.Type == "discord" && !linked;
                var g = existing is null
                    ? new GrantSnapshot(NewId(), s.Id, s.CustomerId, b.Id, t, null, null, null, false, false)
                    : existing with { ModifiedAt = t };
                g = g with { GrantedAt = failed ? null : t, RevokedAt = null, ActionRequired = failed };
                Put(grants, g);
                EmitGrant(user, s, g, "benefit_grant.created", t);
            }
        }
        else
        {
            foreach (var g in grants.Where(g => g.IsGranted).ToList())
            {
                Revoke(user, s, g, ref t);
            }
        }
    }

    /// <summary>
    /// A renewal paid: <c>benefit_grant.cycled</c> for every granted grant of <paramref name="stayed"/> (those granted
    /// before a plan change that applied with it), its <c>modified_at</c> moved.
    /// </summary>
    private void CycleGrants(PlannedUser user, SubscriptionSnapshot s, ref DateTimeOffset t, HashSet<string> stayed)
    {
        var grants = GrantsOf(s.Id);
        foreach (var g in grants.Where(g => g.IsGranted && stayed.Contains(g.Id)).ToList())
        {
            t = t.AddMilliseconds(1 + _rng.Next(50));
            var cycled = g with { ModifiedAt = t };
            Put(grants, cycled);
            EmitGrant(user, s, cycled, "benefit_grant.cycled", t);
        }
    }

    /// <summary>The customer links the account a failed grant waits for: the grant turns granted in <c>updated</c>.</summary>
    private bool LinkAccount(PlannedUser user, SubscriptionSnapshot s, ref DateTimeOffset t)
    {
        var grants = GrantsOf(s.Id);
        if (!s.IsEntitled || grants.FirstOrDefault(g => g.ActionRequired) is not { } waiting)
        {
            return false;
        }

        t = t.AddMilliseconds(1 + _rng.Next(50));
        var granted = waiting with { ModifiedAt = t, GrantedAt = t, ActionRequired = false, AccountLinked = true };
        Put(grants, granted);
        EmitGrant(user, s, granted, "benefit_grant.updated", t);
        return true;
    }

    private void Revoke(PlannedUser user, SubscriptionSnapshot s, GrantSnapshot g, ref DateTimeOffset t)
    {
        t = t.AddMilliseconds(1 + _rng.Next(50));
        var revoked = g with { ModifiedAt = t, GrantedAt = null, RevokedAt = t };
        Put(GrantsOf(s.Id), revoked);
        EmitGrant(user, s, revoked, "benefit_grant.revoked", t);
    }

    private List<GrantSnapshot> GrantsOf(string subscriptionId)
    {
        if (!_grantsOfSubscription.TryGetValue(subscriptionId, out var grants))
        {
            grants = [];
            _grantsOfSubscription[subscriptionId] = grants;
        }

        return grants;
    }

    private void Put(List<GrantSnapshot> grants, GrantSnapshot g)
    {
        var index = grants.FindIndex(x => x.Id == g.Id);
        if (index < 0)
        {
            grants.Add(g);
        }
        else
        {
            grants[index] = g;
        }

        FinalGrants[g.Id] = g;
    }

    private void EmitGrant(PlannedUser user, SubscriptionSnapshot s, GrantSnapshot g, string type, DateTimeOffset timestamp)
    {
        if (!_ownerMembers.TryGetValue(s.CustomerId, out var member))
        {
            // About half the customers belong to member-model organizations: every grant names the owner member.
            member = _rng.NextDouble() < 0.5 ? NewId() : null;
            _ownerMembers[s.CustomerId] = member;
        }

        var benefit = Benefits.First(b => b.Id == g.BenefitId);
        GrantEvents++;
        Events.Add(new PlannedEvent(Guid.NewGuid().ToString(), type, timestamp, s, user.Id, GrantBody(user, s, g, benefit, member, type, timestamp)));
    }

    private static byte[] GrantBody(PlannedUser user, SubscriptionSnapshot s, GrantSnapshot g, PlannedBenefit benefit, string? memberId, string type, DateTimeOffset timestamp)
    {
        var customer = PolarPayloads.Example("subscription.created.json")["data"]!["customer"]!.DeepClone().AsObject();
        customer["id"] = s.CustomerId;
        customer["external_id"] = user.LinkedByMetadata ? null : user.Id;
        customer["email"] = user.Email;
        customer["name"] = "Customer " + user.Id;
        var organizationId = (string)customer["organization_id"]!;
        var data = new JsonObject
        {
            ["created_at"] = PolarPayloads.Format(g.CreatedAt),
            ["modified_at"] = Date(g.ModifiedAt),
            ["id"] = g.Id,
            ["granted_at"] = Date(g.GrantedAt),
            ["is_granted"] = g.IsGranted,
            ["revoked_at"] = Date(g.RevokedAt),
            ["is_revoked"] = g.RevokedAt is not null,
            ["subscription_id"] = g.SubscriptionId,
            ["order_id"] = null,
            ["customer_id"] = s.CustomerId,
            ["member_id"] = memberId,
            ["benefit_id"] = g.BenefitId,
            ["error"] = g.ActionRequired
                ? new JsonObject
                {
                    ["message"] = "The customer needs to connect their Discord account",
                    ["type"] = "BenefitActionRequiredError",
                    ["timestamp"] = PolarPayloads.Format(g.ModifiedAt ?? g.CreatedAt),
                }
                : null,
            ["customer"] = customer,
            ["member"] = memberId is null
                ? null
                : new JsonObject
                {
                    ["id"] = memberId,
                    ["created_at"] = PolarPayloads.Format(s.CreatedAt),
                    ["modified_at"] = null,
                    ["customer_id"] = s.CustomerId,
                    ["email"] = user.Email,
                    ["name"] = "Customer " + user.Id,
                    ["external_id"] = user.LinkedByMetadata ? null : user.Id,
                    ["role"] = "owner",
                },
            ["benefit"] = new JsonObject
            {
                ["id"] = benefit.Id,
                ["created_at"] = "2026-01-05T10:00:00.000000Z",
                ["modified_at"] = null,
                ["type"] = benefit.Type,
                ["description"] = benefit.Description,
                ["selectable"] = true,
                ["deletable"] = true,
                ["organization_id"] = organizationId,
                ["metadata"] = new JsonObject(),
                ["properties"] = new JsonObject(),
            },
            ["properties"] = Properties(benefit, g),
            ["previous_properties"] = type == "benefit_grant.created" && g.ModifiedAt is null ? null : Properties(benefit, g),
            ["user_id"] = s.CustomerId,
        };
        var root = new JsonObject { ["type"] = type, ["timestamp"] = PolarPayloads.Format(timestamp), ["data"] = data };
        return PolarPayloads.Compact(root);
    }

    /// <summary>The grant's properties by type, as the strategies leave them (a revoke keeps a license key's id).</summary>
    private static JsonObject Properties(PlannedBenefit benefit, GrantSnapshot g) => benefit.Type switch
    {
        "license_keys" => new JsonObject
        {
            ["license_key_id"] = "lk-" + g.Id,
            ["display_key"] = "****-" + g.Id[^6..].ToUpperInvariant(),
        },
        "downloadables" => new JsonObject { ["files"] = new JsonArray("f1a2b3c4-0000-4000-8000-000000000001") },
        "discord" when g.AccountLinked => new JsonObject
        {
            ["account_id"] = "238475629384756",
            ["guild_id"] = "1122334455",
            ["role_id"] = "5566778899",
            ["granted_account_id"] = g.IsGranted ? "238475629384756" : null,
        },
        _ => [],
    };

    private static JsonValue? Date(DateTimeOffset? t) => t is null ? null : JsonValue.Create(PolarPayloads.Format(t.Value));
}
