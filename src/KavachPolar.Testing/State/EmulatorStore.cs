using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;
using KavachPolar.Testing.Json;

namespace KavachPolar.Testing.State;

/// <summary>
/// Everything the emulated organization holds, behind one lock. Operations change records and emit
/// webhook events in Polar's order while holding the lock, so events of concurrent
/// operations never interleave.
/// </summary>
internal sealed partial class EmulatorStore
{
    /// <summary>The organization slug used in customer portal URLs.</summary>
    public const string OrganizationSlug = "emulator";

    private readonly Lock _lock = new();
    private readonly EmulatorClock _clock;
    private readonly Action<string, JsonObject, DateTimeOffset> _publish;
    private readonly List<ProductRecord> _products = [];
    private readonly Dictionary<string, CustomerRecord> _customers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CheckoutRecord> _checkouts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SubscriptionRecord> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OrderRecord> _orders = new(StringComparer.Ordinal);
    private readonly List<CustomerSessionRecord> _sessions = [];
    private DateTimeOffset? _nowOverride;
    private DateTimeOffset _lastEventTimestamp;
    private int _invoiceCounter;

    public EmulatorStore(string organizationId, bool allowMultipleSubscriptions, EmulatorClock clock, IEnumerable<EmulatorProductDefinition> products, Action<string, JsonObject, DateTimeOffset> publish)
    {
        OrganizationId = organizationId;
        AllowMultipleSubscriptions = allowMultipleSubscriptions;
        _clock = clock;
        _publish = publish;
        Models = new PolarModels(this);
        var createdAt = CreatedAt = Now.AddDays(-30);
        foreach (var d in products)
        {
            var metadata = new JsonObject();
            foreach (var (k, v) in d.Metadata)
            {
                metadata[k] = v;
            }

            _products.Add(new ProductRecord
            {
                Id = d.Id ?? Ids.NewUuid(),
                PriceId = Ids.NewUuid(),
                BenefitIds = [.. d.BenefitIds],
                CreatedAt = createdAt,
                Name = d.Name,
                Description = d.Description,
                PriceAmount = d.PriceAmount,
                Currency = d.Currency,
                RecurringInterval = d.RecurringInterval,
                RecurringIntervalCount = d.IsRecurring ? d.RecurringIntervalCount : null,
                TrialInterval = d.TrialInterval,
                TrialIntervalCount = d.TrialInterval is null ? null : d.TrialIntervalCount ?? 1,
                Metadata = metadata,
            });
        }
    }

    public string OrganizationId { get; }

    /// <summary>When the organization (and its seeded products) were created: 30 days before the emulator started.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The organization's <c>allow_multiple_subscriptions</c> setting.</summary>
    public bool AllowMultipleSubscriptions { get; }

    /// <summary>The emulator's base URL with a trailing slash; set once the server listens.</summary>
    public Uri BaseUrl { get; set; } = new("http://127.0.0.1/");

    public PolarModels Models { get; }

    /// <summary>The business clock; during <see cref="Advance"/>, the instant being processed.</summary>
    public DateTimeOffset Now => _nowOverride ?? _clock.UtcNow;

    public IReadOnlyList<EmulatorProduct> PublicProducts
    {
        get
        {
            lock (_lock)
            {
                return _products.Select(p => p.ToPublic()).ToList();
            }
        }
    }

    public IReadOnlyList<EmulatorCustomer> PublicCustomers
    {
        get
        {
            lock (_lock)
            {
                return _customers.Values.Where(c => c.DeletedAt is null).OrderBy(c => c.CreatedAt).Select(c => c.ToPublic()).ToList();
            }
        }
    }

    /// <summary>Runs <paramref name="read"/> under the lock.</summary>
    public T Read<T>(Func<EmulatorStore, T> read)
    {
        lock (_lock)
        {
            return read(this);
        }
    }

    internal ProductRecord Product(string id) => _products.First(p => p.Id == id);

    internal ProductRecord? FindProduct(string id) => _products.FirstOrDefault(p => p.Id == id);

    internal IReadOnlyList<ProductRecord> Products => _products;

    internal CustomerRecord Customer(string id) => _customers[id];

    internal SubscriptionRecord Subscription(string id) => _subscriptions[id];

    internal IEnumerable<SubscriptionRecord> SubscriptionsOf(string customerId) =>
        _subscriptions.Values.Where(s => s.CustomerId == customerId);

    // Deleted customers are excluded from every look-up (Polar's customer repository filters deleted_at).
    private CustomerRecord? CustomerByExternalId(string externalId) =>
        _customers.Values.FirstOrDefault(c => c.DeletedAt is null && c.ExternalId == externalId);

    private CustomerRecord? CustomerByEmail(string email) =>
        _customers.Values.FirstOrDefault(c => c.DeletedAt is null && string.Equals(c.Email, email, StringComparison.OrdinalIgnoreCase));

    private CustomerRecord? LiveCustomer(string id) =>
        _customers.TryGetValue(id, out var c) && c.DeletedAt is null ? c : null;

    /// <summary>Emits one event with a timestamp strictly after the previous one.</summary>
    private void Emit(string type, JsonObject data)
    {
        var ts = Now;
        if (ts <= _lastEventTimestamp)
        {
            ts = _lastEventTimestamp.AddTicks(10);
        }

        _lastEventTimestamp = ts;
        _publish(type, data, ts);
    }

    private void EmitStateChanged(CustomerRecord c) => Emit("customer.state_changed", Models.CustomerState(c));

    /// <summary>Adds <paramref name="count"/> intervals the way Polar's <c>relativedelta</c> does (month ends clamp).</summary>
    public static DateTimeOffset AddInterval(DateTimeOffset from, string interval, int count) => interval switch
    {
        "day" => from.AddDays(count),
        "week" => from.AddDays(7 * count),
        "month" => from.AddMonths(count),
        "year" => from.AddYears(count),
        _ => throw new ArgumentOutOfRangeException(nameof(interval), interval, "Unknown interval."),
    };
}
