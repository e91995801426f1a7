using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;

namespace KavachPolar.Tests.Convergence;

/// <summary>One state of a Polar subscription, as every event of one change carries it.</summary>
internal sealed record SubscriptionSnapshot(
    string Id,
    string CustomerId,
    string Status,
    bool CancelAtPeriodEnd,
    string ProductId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ModifiedAt,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    DateTimeOffset? CanceledAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset? PastDueAt,
    DateTimeOffset? TrialEnd,
    string? ScheduledProductId = null)
{
    public long VersionUs => Us(ModifiedAt ?? CreatedAt);

    public bool IsLive => Status is "active" or "trialing" or "past_due" or "incomplete" or "paused";

    public bool IsEntitled => Status is "active" or "trialing";

    /// <summary>A <c>next_period</c> plan change Polar holds (<c>pending_update</c>), applied at <see cref="PeriodEnd"/>.</summary>
    public KavachScheduledChange? ScheduledChange => ScheduledProductId is null ? null : new() { ProductId = ScheduledProductId, AppliesAt = PeriodEnd };

    public KavachSubscription ToKavach() => new() { Id = Id, Status = Status, ProductId = ProductId, CurrentPeriodEnd = PeriodEnd, CancelAtPeriodEnd = CancelAtPeriodEnd, ScheduledChange = ScheduledChange };

    public static long Us(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}

/// <summary>One webhook event Polar generated: its own <c>webhook-id</c>, envelope timestamp and full snapshot.</summary>
internal sealed record PlannedEvent(string WebhookId, string Type, DateTimeOffset Timestamp, SubscriptionSnapshot Snapshot, string UserId, byte[] Body)
{
    public long TimestampUs => SubscriptionSnapshot.Us(Timestamp);
}

/// <summary>An application user and the Polar customer that pays for them.</summary>
internal sealed record PlannedUser(string Id, string CustomerId, bool LinkedByMetadata, string Email, List<string> SubscriptionIds)
{
    /// <summary>The customer KavachPolar must bind: only one whose external id is the user (never from metadata).</summary>
    public string BoundCustomerId => LinkedByMetadata ? "" : CustomerId;
}

/// <summary>
/// Random but realistic subscription histories: the event sequences Polar emits
/// for creation, cancel, uncancel, renewal, failed and recovered payments, trial conversion and
/// revocation, each change with a later <c>modified_at</c> and every event with its own id, and the benefit grants
/// Polar sends along them (<c>SubscriptionHistory.Grants.cs</c>).
/// </summary>
internal sealed partial class SubscriptionHistory
{
    private readonly Random _rng;

    private string[] _products = [];

    private SubscriptionHistory(Random rng) => _rng = rng;

    public List<PlannedUser> Users { get; } = [];

    public List<PlannedEvent> Events { get; } = [];

    /// <summary>The newest snapshot of each subscription: what the store must end with.</summary>
    public Dictionary<string, SubscriptionSnapshot> Final { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> UserOfSubscription { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Subscriptions of a customer without external id whose events carry no <c>kavach_user_id</c>
    /// either (created outside the app's checkout). Another subscription of that customer names the user
    /// through metadata, but metadata attributes only its own subscription and never binds the customer,
    /// so these stay orphans (no user).
    /// </summary>
    public HashSet<string> WithoutMetadata { get; } = new(StringComparer.Ordinal);

    public static SubscriptionHistory Generate(int subscriptions, int seed)
    {
        var history = new SubscriptionHistory(new Random(seed));
        history.Build(subscriptions, seed);
        return history;
    }

    /// <summary>
    /// The user's current subscription, as GET and the <c>kavach_users</c> columns show it: entitled (active, trialing)
    /// before other live ones, the most recently created among equals; null when none is live.
    /// </summary>
    public static SubscriptionSnapshot? Current(IEnumerable<SubscriptionSnapshot> snapshots) =>
        snapshots.Where(s => s.IsLive)
            .OrderBy(s => s.IsEntitled ? 0 : 1)
            .ThenByDescending(s => s.CreatedAt)
            .ThenBy(s => s.Id, StringComparer.Ordinal)
            .FirstOrDefault();

    private void Build(int subscriptions, int seed)
    {
        var userCount = Math.Max(1, subscriptions * 2 / 3);
        var products = _products = Enumerable.Range(0, 3).Select(_ => NewId()).ToArray();
        BuildBenefits();
        var tag = seed.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < userCount; i++)
        {
            // Some customers were reused by Polar without an external id: only checkout metadata links them.
            Users.Add(new PlannedUser($"user-{tag}-{i:D5}", NewId(), _rng.NextDouble() < 0.3, $"customer.{tag}.{i}@gmail.com", []));
        }

        var owners = Users.ToList();
        var seconds = Users.OrderBy(_ => _rng.Next()).Take(subscriptions - userCount).ToList();
        owners.AddRange(seconds);
        var origin = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(-400);
        foreach (var user in owners)
        {
            var createdAt = origin.AddSeconds(_rng.Next(0, 200 * 24 * 3600)).AddMilliseconds(_rng.Next(1000));
            var id = NewId();
            if (user.LinkedByMetadata && user.SubscriptionIds.Count > 0 && _rng.NextDouble() < 0.5)
            {
                // Nothing in its events names the user, and metadata never binds a customer: it stays an orphan.
                WithoutMetadata.Add(id);
                UserOfSubscription[id] = "";
            }
            else
            {
                user.SubscriptionIds.Add(id);
                UserOfSubscription[id] = user.Id;
            }

            GenerateOne(user, id, products[_rng.Next(products.Length)], createdAt);
        }
    }

    private void GenerateOne(PlannedUser user, string id, string productId, DateTimeOffset createdAt)
    {
        var trialing = _rng.NextDouble() < 0.2;
        var s = new SubscriptionSnapshot(
            id, user.CustomerId, trialing ? "trialing" : "active", false, productId, createdAt, null,
            createdAt, createdAt.AddDays(trialing ? 14 : 30), null, null, null, trialing ? createdAt.AddDays(14) : null);

        // Creation: created, active and updated, all with the same data and modified_at null.
        var t = createdAt;
        Emit(user, s, ref t, "subscription.created", "subscription.active", "subscription.updated");
        SyncGrants(user, s, ref t);

        var steps = _rng.Next(0, 7);
        for (var step = 0; step < steps && s.IsLive; step++)
        {
            t = t.AddMinutes(_rng.Next(30, 30 * 24 * 60)).AddMilliseconds(_rng.Next(1000));
            var change = t;
            var choice = _rng.NextDouble();
            if (s.Status == "past_due")
            {
                if (choice < 0.6)
                {
                    s = s with { Status = "active", ModifiedAt = change, PastDueAt = null };
                    Emit(user, s, ref t, "subscription.updated", "subscription.active");
                    SyncGrants(user, s, ref t); // recovery: granted again under the same ids
                }
                else
                {
                    s = s with { Status = "canceled", ModifiedAt = change, CanceledAt = change, EndedAt = change };
                    Emit(user, s, ref t, "subscription.updated", "subscription.canceled", "subscription.revoked");
                    SyncGrants(user, s, ref t);
                }
            }
            else if (s.CancelAtPeriodEnd)
            {
                if (choice < 0.5)
                {
                    s = s with { CancelAtPeriodEnd = false, CanceledAt = null, ModifiedAt = change };
                    Emit(user, s, ref t, "subscription.updated", "subscription.uncanceled");
                }
                else
                {
                    // End of the scheduled cancellation: canceled arrives a second time, then revoked.
                    s = s with { Status = "canceled", ModifiedAt = change, EndedAt = change };
                    Emit(user, s, ref t, "subscription.updated", "subscription.canceled", "subscription.revoked");
                    SyncGrants(user, s, ref t);
                }
            }
            else if (choice < 0.3)
            {
                s = s with { CancelAtPeriodEnd = true, CanceledAt = change, ModifiedAt = change };
                Emit(user, s, ref t, "subscription.updated", "subscription.canceled");
            }
            else if (choice < 0.55)
            {
                // Renewal, or trial conversion (no subscription.active then); a scheduled plan change applies.
                s = s with { Status = "active", PeriodStart = s.PeriodEnd, PeriodEnd = s.PeriodEnd.AddDays(30), ModifiedAt = change, ProductId = s.ScheduledProductId ?? s.ProductId, ScheduledProductId = null };
                Emit(user, s, ref t, "subscription.cycled", "subscription.updated");
                // A plan change that applies revokes the benefits the new product lacks and grants its new ones;
                // the renewal's paid order then cycles the grants that stayed granted.
                var stayed = GrantsOf(id).Where(g => g.IsGranted).Select(g => g.Id).ToHashSet(StringComparer.Ordinal);
                SyncGrants(user, s, ref t);
                CycleGrants(user, s, ref t, stayed);
            }
            else if (choice < 0.75 && s.Status == "active")
            {
                s = s with { Status = "past_due", PastDueAt = change, ModifiedAt = change };
                Emit(user, s, ref t, "subscription.updated", "subscription.past_due");
                SyncGrants(user, s, ref t); // the default grace period is 0 days: revoked at once
            }
            else if (choice < 0.85)
            {
                s = s with { Status = "canceled", CanceledAt = change, EndedAt = change, ModifiedAt = change };
                Emit(user, s, ref t, "subscription.updated", "subscription.canceled", "subscription.revoked");
                SyncGrants(user, s, ref t);
            }
            else if (choice < 0.92)
            {
                // A next_period plan change scheduled (or, when one is, dropped): only subscription.updated, and GET's
                // scheduledChange changes.
                var other = _products.First(p => p != s.ProductId);
                s = s with { ScheduledProductId = s.ScheduledProductId is null ? other : null, ModifiedAt = change };
                Emit(user, s, ref t, "subscription.updated");
            }
            else if (!LinkAccount(user, s, ref t))
            {
                // Metered usage and the like: a new modified_at, nothing GET shows changes. (Or, when a grant waits for
                // one, the customer links their Discord account in the portal: only benefit_grant.updated.)
                s = s with { ModifiedAt = change };
                Emit(user, s, ref t, "subscription.updated");
            }
        }

        Final[id] = s;
    }

    private void Emit(PlannedUser user, SubscriptionSnapshot s, ref DateTimeOffset t, params string[] types)
    {
        foreach (var type in types)
        {
            t = t.AddMilliseconds(1 + _rng.Next(50));
            var body = Body(user, s, type, t, withMetadata: !WithoutMetadata.Contains(s.Id));
            Events.Add(new PlannedEvent(Guid.NewGuid().ToString(), type, t, s, user.Id, body));
        }
    }

    private static byte[] Body(PlannedUser user, SubscriptionSnapshot s, string type, DateTimeOffset timestamp, bool withMetadata)
    {
        var root = PolarPayloads.Subscription(
            type,
            s.Id,
            status: s.Status,
            externalId: user.LinkedByMetadata ? null : user.Id,
            customerId: s.CustomerId,
            createdAt: s.CreatedAt,
            modifiedAt: s.ModifiedAt,
            eventTimestamp: timestamp,
            cancelAtPeriodEnd: s.CancelAtPeriodEnd,
            currentPeriodEnd: s.PeriodEnd,
            productId: s.ProductId,
            metadataUserId: user.LinkedByMetadata && withMetadata ? user.Id : null,
            email: user.Email);
        var data = root["data"]!.AsObject();
        data["current_period_start"] = PolarPayloads.Format(s.PeriodStart);
        data["started_at"] = PolarPayloads.Format(s.CreatedAt);
        data["canceled_at"] = Nullable(s.CanceledAt);
        data["ends_at"] = s.CancelAtPeriodEnd || s.EndedAt is not null ? PolarPayloads.Format(s.EndedAt ?? s.PeriodEnd) : null;
        data["ended_at"] = Nullable(s.EndedAt);
        data["past_due_at"] = Nullable(s.PastDueAt);
        data["trial_start"] = s.TrialEnd is null ? null : PolarPayloads.Format(s.CreatedAt);
        data["trial_end"] = Nullable(s.TrialEnd);
        data["pending_update"] = s.ScheduledProductId is null ? null : new JsonObject
        {
            ["created_at"] = PolarPayloads.Format(s.ModifiedAt ?? s.CreatedAt),
            ["modified_at"] = null,
            ["id"] = "pu-" + s.Id,
            ["applies_at"] = PolarPayloads.Format(s.PeriodEnd),
            ["product_id"] = s.ScheduledProductId,
            ["seats"] = null,
            ["units"] = null,
        };
        data["customer"]!["name"] = "Customer " + user.Id;
        return PolarPayloads.Compact(root);
    }

    private static JsonValue? Nullable(DateTimeOffset? t) => t is null ? null : JsonValue.Create(PolarPayloads.Format(t.Value));

    private string NewId()
    {
        // UUID v4, from the seeded generator: Polar refuses ids of any other version (pydantic's uuid_version error).
        Span<byte> b = stackalloc byte[16];
        _rng.NextBytes(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b, bigEndian: true).ToString();
    }
}
