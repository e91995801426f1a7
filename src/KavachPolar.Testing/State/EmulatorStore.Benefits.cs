using System.Globalization;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

/// <summary>
/// Benefits and their grants, as Polar's benefit grant service runs them
/// (https://github.com/polarsource/polar/blob/main/server/polar/benefit/grant/service.py and
/// <c>benefit/strategies/*</c>): one grant row per (customer, benefit, member, subscription, order), reused by a
/// revoke and a later re-grant, each change announced with its own <c>benefit_grant.*</c> webhook.
/// </summary>
internal sealed partial class EmulatorStore
{
    private readonly List<BenefitRecord> _benefits = [];
    private readonly List<BenefitGrantRecord> _grants = [];
    private readonly Dictionary<string, MemberRecord> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LicenseKeyRecord> _licenseKeys = new(StringComparer.Ordinal);

    /// <summary>The organization's <c>benefit_revocation_grace_period</c> in days (Polar's default is 0).</summary>
    public int BenefitRevocationGracePeriodDays { get; private set; }

    /// <summary>The organization's <c>member_model_enabled</c> feature setting.</summary>
    public bool MemberModel { get; private set; }

    internal IReadOnlyList<BenefitRecord> Benefits => _benefits;

    internal BenefitRecord Benefit(string id) => _benefits.First(b => b.Id == id);

    internal BenefitRecord? FindBenefit(string id) => _benefits.FirstOrDefault(b => b.Id == id);

    internal MemberRecord? OwnerOf(string customerId) => _owners.GetValueOrDefault(customerId);

    /// <summary>The customer's grants that are granted, oldest first: what customer state lists.</summary>
    internal IEnumerable<BenefitGrantRecord> GrantedOf(string customerId) =>
        _grants.Where(g => g.CustomerId == customerId && g.IsGranted);

    public IReadOnlyList<EmulatorBenefit> PublicBenefits
    {
        get
        {
            lock (_lock)
            {
                return _benefits.Select(b => new EmulatorBenefit(b.Id, b.Type, b.Description)).ToList();
            }
        }
    }

    public IReadOnlyList<EmulatorBenefitGrant> PublicGrants
    {
        get
        {
            lock (_lock)
            {
                return _grants.Select(g => new EmulatorBenefitGrant(g.Id, g.BenefitId, g.CustomerId, g.MemberId, g.SubscriptionId, g.OrderId,
                    g.IsGranted, g.IsRevoked, g.Error?["message"]?.GetValue<string>())).ToList();
            }
        }
    }

    /// <summary>Creates the benefits; called once, before any request.</summary>
    public void ConfigureBenefits(IEnumerable<BenefitRecord> benefits, int gracePeriodDays, bool memberModel)
    {
        lock (_lock)
        {
            _benefits.AddRange(benefits);
            BenefitRevocationGracePeriodDays = gracePeriodDays;
            MemberModel = memberModel;
            foreach (var p in _products)
            {
                if (p.BenefitIds.FirstOrDefault(id => FindBenefit(id) is null) is { } unknown)
                {
                    throw new ArgumentException($"Product '{p.Name}' names benefit {unknown}, which is not among the benefits.");
                }
            }
        }
    }

    /// <summary>
    /// In member-model organizations every customer gets an owner member when it is created (<c>member.created</c>,
    /// before <c>customer.created</c>: <c>member_service.create_owner_member</c> sends it inside the customer's creation).
    /// </summary>
    private void CreateOwnerMember(CustomerRecord c)
    {
        if (!MemberModel)
        {
            return;
        }

        var member = new MemberRecord
        {
            Id = Ids.NewUuid(),
            CreatedAt = c.CreatedAt,
            CustomerId = c.Id,
            Email = c.Email,
            Name = c.Name,
            ExternalId = c.ExternalId,
        };
        _owners[c.Id] = member;
        Emit("member.created", Json.PolarModels.Member(member));
    }

    /// <summary>
    /// The subscription service's <c>enqueue_benefits_grants</c> followed by the benefit service's: an incomplete
    /// subscription changes nothing; an active or trialing one revokes its grants of benefits its product no longer
    /// has, then grants the product's benefits not yet granted (skipping those that failed for a customer action); any
    /// other status revokes every granted grant, unless the subscription is past due (or unpaid) within the
    /// organization's grace period. Returns whether a grant changed (a <c>benefit_grant.*</c> event was sent).
    /// </summary>
    private bool SyncBenefitGrants(SubscriptionRecord s)
    {
        if (s.Status is "incomplete" or "incomplete_expired")
        {
            return false;
        }

        if (!s.IsActive && s.Status is "past_due" or "unpaid" && BenefitRevocationGracePeriodDays > 0
            && s.PastDueAt is { } pastDueAt && Now < pastDueAt.AddDays(BenefitRevocationGracePeriodDays))
        {
            return false;
        }

        var c = _customers[s.CustomerId];
        var product = Product(s.ProductId);
        var scope = _grants.Where(g => g.SubscriptionId == s.Id).ToList();
        var changed = false;

        // Outdated grants (benefits the product no longer has) are revoked first, then the new ones are granted.
        foreach (var g in scope.Where(g => g.IsGranted && !product.BenefitIds.Contains(g.BenefitId)).ToList())
        {
            changed |= RevokeGrant(g);
        }

        if (s.IsActive)
        {
            foreach (var benefitId in product.BenefitIds)
            {
                var existing = scope.FirstOrDefault(g => g.BenefitId == benefitId);
                if (existing is { IsGranted: true } || existing is { ActionRequired: true })
                {
                    continue;
                }

                GrantBenefit(c, Benefit(benefitId), s.Id, null);
                changed = true;
            }
        }
        else
        {
            foreach (var g in scope.Where(g => g.IsGranted && product.BenefitIds.Contains(g.BenefitId)).ToList())
            {
                changed |= RevokeGrant(g);
            }
        }

        return changed;
    }

    /// <summary>
    /// Renewal paid: <c>enqueue_benefit_grant_cycles</c> sends <c>benefit_grant.cycled</c> for every granted grant of the
    /// subscription; the strategies leave the properties as they are (a meter credit resets the meter and credits again)
    /// and the row's <c>modified_at</c> moves.
    /// </summary>
    private bool CycleBenefitGrants(SubscriptionRecord s)
    {
        var changed = false;
        foreach (var g in _grants.Where(g => g.SubscriptionId == s.Id && g.IsGranted).ToList())
        {
            g.PreviousProperties = (JsonObject)g.Properties.DeepClone();
            if (Benefit(g.BenefitId) is { Type: "meter_credit" } b)
            {
                g.Properties = CycleMeterCredit(b, g);
            }

            g.ModifiedAt = Now;
            Emit("benefit_grant.cycled", Models.BenefitGrant(g, webhook: true));
            changed = true;
        }

        return changed;
    }

    /// <summary><c>grant_benefit</c>: reuses the scope's row (a re-grant sends <c>created</c> again for the same id).</summary>
    private void GrantBenefit(CustomerRecord c, BenefitRecord b, string? subscriptionId, string? orderId)
    {
        var memberId = OwnerOf(c.Id)?.Id;
        var now = Now;
        var g = _grants.FirstOrDefault(x => x.CustomerId == c.Id && x.BenefitId == b.Id && x.MemberId == memberId && x.SubscriptionId == subscriptionId && x.OrderId == orderId);
        var inserted = g is null;
        if (g is null)
        {
            g = new BenefitGrantRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = now,
                CustomerId = c.Id,
                MemberId = memberId,
                BenefitId = b.Id,
                SubscriptionId = subscriptionId,
                OrderId = orderId,
            };
            _grants.Add(g);
        }
        else if (g.IsGranted)
        {
            return;
        }

        g.PreviousProperties = (JsonObject)g.Properties.DeepClone();
        ApplyStrategyGrant(b, g, now);

        // The first grant is one INSERT, so modified_at stays null; a re-grant is an UPDATE.
        if (!inserted)
        {
            g.ModifiedAt = now;
        }

        Emit("benefit_grant.created", Models.BenefitGrant(g, webhook: true));
    }

    /// <summary>The strategy's <c>grant</c>: new properties and granted, or failed with "action required".</summary>
    private void ApplyStrategyGrant(BenefitRecord b, BenefitGrantRecord g, DateTimeOffset now)
    {
        if (b.NeedsLinkedAccount && g.Properties["account_id"] is null)
        {
            var service = b.Type == "discord" ? "Discord" : "GitHub";
            g.GrantedAt = null;
            g.RevokedAt = null;
            g.Error = new JsonObject
            {
                ["message"] = $"The customer needs to connect their {service} account",
                ["type"] = "BenefitActionRequiredError",
                ["timestamp"] = IsoFormat(now),
            };
            return;
        }

        g.Properties = StrategyGrantProperties(b, g, now);
        g.GrantedAt = now;
        g.RevokedAt = null;
        g.Error = null;
    }

    private JsonObject StrategyGrantProperties(BenefitRecord b, BenefitGrantRecord g, DateTimeOffset now)
    {
        var current = (JsonObject)g.Properties.DeepClone();
        switch (b.Type)
        {
            case "license_keys":
            {
                // license_key_service.customer_grant: a grant that has a key keeps it (granted again); otherwise a new
                // key, PREFIX-UUID in upper case. Keys of subscription grants never expire.
                LicenseKeyRecord key;
                if (current["license_key_id"]?.GetValue<string>() is { } keyId && _licenseKeys.TryGetValue(keyId, out var existing))
                {
                    key = existing;
                    key.Status = "granted";
                }
                else
                {
                    var prefix = b.Properties["prefix"]?.GetValue<string>()?.Trim().ToUpperInvariant();
                    var uuid = Ids.NewUuid().ToUpperInvariant();
                    key = new LicenseKeyRecord
                    {
                        Id = Ids.NewUuid(),
                        CreatedAt = now,
                        Key = prefix is null ? uuid : $"{prefix}-{uuid}",
                        BenefitId = b.Id,
                        CustomerId = g.CustomerId,
                        Status = "granted",
                    };
                    _licenseKeys.Add(key.Id, key);
                }

                current["license_key_id"] = key.Id;
                current["display_key"] = key.DisplayKey;
                return current;
            }

            case "meter_credit":
                return GrantMeterCredit(b, g);
            case "downloadables":
                return b.Properties["files"] is JsonArray { Count: > 0 } files ? new JsonObject { ["files"] = files.DeepClone() } : [];
            case "discord":
                current["guild_id"] = b.Properties["guild_id"]!.DeepClone();
                current["role_id"] = b.Properties["role_id"]!.DeepClone();
                current["granted_account_id"] = current["account_id"]!.DeepClone();
                return current;
            case "github_repository":
                current["repository_owner"] = b.Properties["repository_owner"]!.DeepClone();
                current["repository_name"] = b.Properties["repository_name"]!.DeepClone();
                current["permission"] = b.Properties["permission"]!.DeepClone();
                current["granted_account_id"] = current["account_id"]!.DeepClone();
                return current;
            default:
                // custom and feature_flag: no side effects, empty properties.
                return [];
        }
    }

    /// <summary>
    /// <c>revoke_benefit</c>: the outside effect is undone only for license keys (revoked one by one) or when this is
    /// the customer's last granted grant of the benefit; the row is marked revoked and <c>revoked</c> is sent anyway.
    /// </summary>
    private bool RevokeGrant(BenefitGrantRecord g)
    {
        if (g.IsRevoked)
        {
            return false;
        }

        var b = Benefit(g.BenefitId);
        g.PreviousProperties = (JsonObject)g.Properties.DeepClone();
        var granted = _grants.Count(x => x.CustomerId == g.CustomerId && x.BenefitId == g.BenefitId && x.IsGranted);
        if (b.RevokedIndividually || granted < 2)
        {
            g.Properties = StrategyRevokeProperties(b, g);
        }

        var now = Now;
        g.GrantedAt = null;
        g.RevokedAt = now;
        g.Error = null;
        g.ModifiedAt = now;
        Emit("benefit_grant.revoked", Models.BenefitGrant(g, webhook: true));
        return true;
    }

    private JsonObject StrategyRevokeProperties(BenefitRecord b, BenefitGrantRecord g)
    {
        switch (b.Type)
        {
            case "license_keys":
                if (g.Properties["license_key_id"]?.GetValue<string>() is { } keyId && _licenseKeys.TryGetValue(keyId, out var key))
                {
                    key.Status = "revoked";
                }

                return (JsonObject)g.Properties.DeepClone();
            case "meter_credit":
                return RevokeMeterCredit(b, g);
            case "discord" or "github_repository":
                return g.Properties["granted_account_id"] is null && g.Properties["account_id"] is null
                    ? []
                    : new JsonObject { ["account_id"] = g.Properties["account_id"]?.DeepClone() };
            default:
                return [];
        }
    }

    /// <summary>
    /// What the customer portal's <c>PATCH /v1/customer-portal/benefit-grants/{id}</c> with an <c>account_id</c> and the
    /// <c>benefit.update</c> job it queues do: the account is stored on the grant, the error cleared, and the strategy
    /// grants again, sending <c>benefit_grant.updated</c> (then <c>customer.state_changed</c>).
    /// </summary>
    public void LinkBenefitAccount(string grantId, string accountId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountId);
        lock (_lock)
        {
            var g = _grants.FirstOrDefault(x => x.Id == grantId) ?? throw PolarApiException.NotFound();
            if (g.IsRevoked)
            {
                throw PolarApiException.Polar(403, "NotPermitted", "Cannot update a revoked benefit grant.");
            }

            var b = Benefit(g.BenefitId);
            if (!b.NeedsLinkedAccount)
            {
                throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "benefit_type"), "Benefit type must match the existing granted benefit type.", JsonValue.Create(b.Type));
            }

            var now = Now;
            g.Properties["account_id"] = accountId;
            g.Error = null;
            g.ModifiedAt = now;
            g.PreviousProperties = (JsonObject)g.Properties.DeepClone();
            ApplyStrategyGrant(b, g, now);
            Emit("benefit_grant.updated", Models.BenefitGrant(g, webhook: true));
            EmitStateChanged(_customers[g.CustomerId]);
        }
    }

    /// <summary>
    /// Customer deletion revokes every granted grant left (<c>enqueue_customer_grant_deletions</c>, then
    /// <c>delete_benefit_grant</c>, which runs the strategy's revoke whatever other grants exist).
    /// </summary>
    private void RevokeAllGrantsOf(CustomerRecord c)
    {
        foreach (var g in _grants.Where(g => g.CustomerId == c.Id && g.IsGranted).ToList())
        {
            var b = Benefit(g.BenefitId);
            g.PreviousProperties = (JsonObject)g.Properties.DeepClone();
            g.Properties = StrategyRevokeProperties(b, g);
            g.GrantedAt = null;
            g.RevokedAt = Now;
            g.Error = null;
            g.ModifiedAt = Now;
            Emit("benefit_grant.revoked", Models.BenefitGrant(g, webhook: true));
        }
    }

    /// <summary>
    /// <c>GET /v1/benefit-grants/</c>: the organization's grants (deleted customers' included, as Polar joins without
    /// filtering them), filtered by customer, external customer id and <c>is_granted</c> (<c>granted_at</c> set or not,
    /// so <c>false</c> returns revoked and failed grants together), sorted (default <c>-created_at</c>).
    /// </summary>
    public (JsonArray Items, int Total) ListBenefitGrants(BenefitGrantQuery q)
    {
        lock (_lock)
        {
            IEnumerable<BenefitGrantRecord> rows = _grants;
            if (q.OrganizationIds.Count > 0 && !q.OrganizationIds.Contains(OrganizationId))
            {
                rows = [];
            }

            if (q.BenefitId is { } benefitId)
            {
                rows = rows.Where(g => g.BenefitId == benefitId);
            }

            if (q.CustomerIds.Count > 0)
            {
                rows = rows.Where(g => q.CustomerIds.Contains(g.CustomerId));
            }

            if (q.ExternalCustomerIds.Count > 0)
            {
                rows = rows.Where(g => _customers[g.CustomerId].ExternalId is { } e && q.ExternalCustomerIds.Contains(e));
            }

            if (q.MemberIds.Count > 0)
            {
                rows = rows.Where(g => g.MemberId is { } m && q.MemberIds.Contains(m));
            }

            if (q.IsGranted is { } granted)
            {
                rows = rows.Where(g => g.IsGranted == granted);
            }

            var list = rows.ToList();
            list.Sort((a, b) =>
            {
                foreach (var key in q.Sorting)
                {
                    var desc = key.StartsWith('-');
                    var c = (desc ? key[1..] : key) switch
                    {
                        "granted_at" => Nullable.Compare(a.GrantedAt, b.GrantedAt),
                        "revoked_at" => Nullable.Compare(a.RevokedAt, b.RevokedAt),
                        _ => a.CreatedAt.CompareTo(b.CreatedAt),
                    };
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return _grants.IndexOf(a).CompareTo(_grants.IndexOf(b));
            });
            return (Pagination.Items(list, q.Page, q.Limit, g => Models.BenefitGrant(g, webhook: false)), list.Count);
        }
    }

    /// <summary><c>GET /v1/benefits/</c>: filtered by type, ids and a description search, sorted (default <c>-created_at</c>).</summary>
    public (JsonArray Items, int Total) ListBenefits(BenefitQuery q)
    {
        lock (_lock)
        {
            var like = q.Query is null ? null : SqlLike.ContainsPattern(q.Query);
            var rows = _benefits
                .Where(b => q.OrganizationIds.Count == 0 || q.OrganizationIds.Contains(OrganizationId))
                .Where(b => q.Types.Count == 0 || q.Types.Contains(b.Type))
                .Where(b => q.Ids.Count == 0 || q.Ids.Contains(b.Id))
                .Where(b => !q.ExcludeIds.Contains(b.Id))
                .Where(b => like is null || like.IsMatch(b.Description))
                .ToList();
            var order = _benefits.ToList();
            rows.Sort((a, b) =>
            {
                foreach (var key in q.Sorting)
                {
                    var desc = key.StartsWith('-');
                    var c = (desc ? key[1..] : key) switch
                    {
                        "description" => string.CompareOrdinal(a.Description, b.Description),
                        "type" => string.CompareOrdinal(a.Type, b.Type),
                        "user_order" => order.IndexOf(a).CompareTo(order.IndexOf(b)),
                        _ => a.CreatedAt.CompareTo(b.CreatedAt),
                    };
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return order.IndexOf(a).CompareTo(order.IndexOf(b));
            });
            return (Pagination.Items(rows, q.Page, q.Limit, Models.Benefit), rows.Count);
        }
    }

    public JsonObject GetBenefit(string id)
    {
        lock (_lock)
        {
            return Models.Benefit(FindBenefit(id) ?? throw PolarApiException.NotFound());
        }
    }

    /// <summary>Whether the benefit exists (for <c>GET /v1/benefits/{id}/grants</c>, a 404 otherwise).</summary>
    public void RequireBenefit(string id)
    {
        lock (_lock)
        {
            _ = FindBenefit(id) ?? throw PolarApiException.NotFound();
        }
    }

    /// <summary>The full key of a license key, as the license key API shows it to the organization.</summary>
    public string? LicenseKey(string licenseKeyId)
    {
        lock (_lock)
        {
            return _licenseKeys.TryGetValue(licenseKeyId, out var key) ? key.Key : null;
        }
    }

    /// <summary>Python's <c>datetime.isoformat()</c> of an aware UTC instant: <c>+00:00</c>, microseconds when not zero.</summary>
    private static string IsoFormat(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        var micro = (utc.Ticks % TimeSpan.TicksPerSecond) / 10;
        var seconds = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return micro == 0 ? seconds + "+00:00" : seconds + "." + micro.ToString("D6", CultureInfo.InvariantCulture) + "+00:00";
    }
}

/// <summary>A license key (<c>models/license_key.py</c>): the key itself and whether it is granted or revoked.</summary>
internal sealed class LicenseKeyRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Key { get; init; }
    public required string BenefitId { get; init; }
    public required string CustomerId { get; init; }
    public required string Status { get; set; }

    /// <summary><c>LicenseKey.display_key</c>: four stars, a dash and the key's last six characters.</summary>
    public string DisplayKey => "****-" + Key[^6..];
}

/// <summary>The filters of <c>GET /v1/benefit-grants/</c> and <c>GET /v1/benefits/{id}/grants</c>.</summary>
internal sealed class BenefitGrantQuery
{
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public string? BenefitId { get; init; }
    public IReadOnlyList<string> CustomerIds { get; init; } = [];
    public IReadOnlyList<string> ExternalCustomerIds { get; init; } = [];
    public IReadOnlyList<string> MemberIds { get; init; } = [];
    public bool? IsGranted { get; init; }
    public IReadOnlyList<string> Sorting { get; init; } = ["-created_at"];
    public int Page { get; init; } = 1;
    public int Limit { get; init; } = 10;
}

/// <summary>The filters of <c>GET /v1/benefits/</c>.</summary>
internal sealed class BenefitQuery
{
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public IReadOnlyList<string> Types { get; init; } = [];
    public IReadOnlyList<string> Ids { get; init; } = [];
    public IReadOnlyList<string> ExcludeIds { get; init; } = [];
    public string? Query { get; init; }
    public IReadOnlyList<string> Sorting { get; init; } = ["-created_at"];
    public int Page { get; init; } = 1;
    public int Limit { get; init; } = 10;
}
