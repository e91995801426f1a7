using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    /// <summary><c>CUSTOMER_METER_UPDATE_DEBOUNCE_MIN_THRESHOLD</c>: a queued recompute runs this long after it was queued.</summary>
    public static readonly TimeSpan MeterDebounceMin = TimeSpan.FromSeconds(15);

    /// <summary><c>CUSTOMER_METER_UPDATE_DEBOUNCE_MAX_THRESHOLD</c>: the longest continuous queueing can hold a recompute back.</summary>
    public static readonly TimeSpan MeterDebounceMax = TimeSpan.FromMinutes(180);

    private readonly List<MeterRecord> _meters = [];
    private readonly List<CustomerMeterRecord> _customerMeters = [];

    /// <summary>Each customer's debounce key: the oldest queueing not yet executed, and the queued runs in time order (the last one owns the key).</summary>
    private readonly Dictionary<string, MeterJob> _meterJobs = new(StringComparer.Ordinal);

    private sealed class MeterJob
    {
        public DateTimeOffset? EnqueuedAt { get; set; }

        public List<DateTimeOffset> Runs { get; } = [];
    }

    public IReadOnlyList<EmulatorMeter> PublicMeters
    {
        get
        {
            lock (_lock)
            {
                return _meters.Select(m => m.ToPublic()).ToList();
            }
        }
    }

    internal MeterRecord Meter(string id) => _meters.First(m => m.Id == id);

    internal CustomerRecord CustomerIncludingDeleted(string id) => _customers[id];

    /// <summary>Adds the organization's meters, created with its products.</summary>
    public void SeedMeters(IEnumerable<EmulatorMeterDefinition> definitions)
    {
        lock (_lock)
        {
            foreach (var d in definitions)
            {
                var metadata = new JsonObject();
                foreach (var (k, v) in d.Metadata)
                {
                    metadata[k] = v;
                }

                _meters.Add(new MeterRecord
                {
                    Id = d.Id ?? Ids.NewUuid(),
                    CreatedAt = CreatedAt.AddTicks(10 * _meters.Count),
                    Name = d.Name,
                    Unit = d.Unit,
                    CustomLabel = d.CustomLabel,
                    Rules = d.Rules,
                    Metadata = metadata,
                });
            }
        }
    }

    /// <summary>
    /// Queues <c>customer_meter.update_customer</c> for the customer, as Polar's worker debounces it
    /// (<c>worker/_debounce.py</c>): every queueing delays a run by 15 s and makes it the key's owner; the owner runs;
    /// an earlier run goes ahead only when the oldest queueing not yet executed is more than 180 minutes old, and then
    /// counts as that oldest queueing.
    /// </summary>
    private void EnqueueMeterRecompute(string customerId)
    {
        var now = Now;
        if (!_meterJobs.TryGetValue(customerId, out var job))
        {
            _meterJobs[customerId] = job = new MeterJob();
        }

        job.EnqueuedAt ??= now;
        job.Runs.Add(now + MeterDebounceMin);
    }

    /// <summary>The earliest queued recompute run, for the clock.</summary>
    /// <summary>The worker's jobs on the emulator's clock: customer-meter recomputes and invoice generation.</summary>
    private void ConsiderMeterJobs(Action<DateTimeOffset, Action> consider)
    {
        ConsiderInvoiceJobs(consider);
        foreach (var (customerId, job) in _meterJobs.OrderBy(j => j.Key, StringComparer.Ordinal))
        {
            if (job.Runs.Count > 0)
            {
                consider(job.Runs[0], () => RunMeterJob(customerId));
            }
        }
    }

    /// <summary>Runs, at their own instants, the recomputes that fell due on the clock (it may have moved on its own).</summary>
    public void RunDueMeterJobs()
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
        }
    }

    private void RunDueMeterJobsLocked()
    {
        if (_nowOverride is not null)
        {
            return;
        }

        var target = _clock.UtcNow;
        try
        {
            while (true)
            {
                (DateTimeOffset At, Action Run)? next = null;
                ConsiderMeterJobs((at, run) =>
                {
                    if (at <= target && (next is null || at < next.Value.At))
                    {
                        next = (at, run);
                    }
                });
                if (next is null)
                {
                    break;
                }

                _nowOverride = next.Value.At;
                next.Value.Run();
            }
        }
        finally
        {
            _nowOverride = null;
        }
    }

    /// <summary>One queued run of the customer's recompute, at <see cref="Now"/>.</summary>
    private void RunMeterJob(string customerId)
    {
        var job = _meterJobs[customerId];
        var at = job.Runs[0];
        job.Runs.RemoveAt(0);
        if (job.Runs.Count == 0)
        {
            // The key's owner: it runs and marks the key executed.
            job.EnqueuedAt = null;
            UpdateCustomerMeters(customerId);
        }
        else if (job.EnqueuedAt + MeterDebounceMax < at)
        {
            job.EnqueuedAt = at;
            UpdateCustomerMeters(customerId);
        }
    }

    /// <summary>
    /// <c>customer_meter/service.py update_customer</c>, for every meter not archived, oldest first; when any row was
    /// recomputed, <c>customer.state_changed</c> follows.
    /// </summary>
    private void UpdateCustomerMeters(string customerId)
    {
        var customer = _customers[customerId];
        if (customer.DeletedAt is not null)
        {
            return;
        }

        var updated = false;
        foreach (var meter in _meters.Where(m => m.ArchivedAt is null).OrderBy(m => m.CreatedAt))
        {
            updated |= UpdateCustomerMeter(customer, meter, activate: false);
        }

        if (updated)
        {
            EmitStateChanged(customer);
        }
    }

    /// <summary>
    /// <c>update_customer_meter</c>: a row that exists but was never activated is left alone unless
    /// <paramref name="activate"/> (a meter credit activates it). The current window starts at the latest
    /// <c>meter.reset</c> of the customer and meter (by timestamp); its latest event (user events matching the meter,
    /// by <c>customer_id</c> or <c>external_customer_id</c>, and the meter's system events, by <c>customer_id</c>)
    /// ingested within the last 180 minutes is looked up; a missing row is created (activated when there is such an
    /// event or when activating); with a new latest event the row is recomputed: <c>consumed_units</c> aggregates the
    /// window's matching events, <c>credited_units</c> is the non-negative running sum of the window's
    /// <c>meter.credited</c> units in timestamp order, <c>balance</c> their difference. Returns whether it was recomputed.
    /// </summary>
    private bool UpdateCustomerMeter(CustomerRecord customer, MeterRecord meter, bool activate)
    {
        var now = Now;
        var row = _customerMeters.FirstOrDefault(r => r.CustomerId == customer.Id && r.MeterId == meter.Id);
        if (row is not null && row.ActivatedAt is null)
        {
            if (!activate)
            {
                return false;
            }

            row.ActivatedAt = now;
        }

        var reset = LatestMeterReset(customer.Id, meter.Id);
        var window = _events.Where(e => e.Rooted && BelongsTo(e, customer) && (reset is null || e.IngestedAt >= reset.Timestamp)).ToList();
        var matching = window.Where(meter.Rules.Matches).ToList();
        var system = window.Where(e => IsMeterSystemEvent(e, customer.Id, meter.Id)).ToList();
        var last = matching.Concat(system).Where(e => e.IngestedAt >= now - MeterDebounceMax)
            .OrderBy(e => e.IngestedAt).ThenBy(e => e.Sequence).LastOrDefault();
        if (row is null)
        {
            row = new CustomerMeterRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = now,
                CustomerId = customer.Id,
                MeterId = meter.Id,
                ActivatedAt = last is not null || activate ? now : null,
            };
            _customerMeters.Add(row);
        }

        if (last is null || row.LastBalancedEventId == last.Id)
        {
            return false;
        }

        row.ConsumedUnits = meter.Rules.Aggregate(matching.Distinct().ToList());
        row.CreditedUnits = NonNegativeRunningSum(system.Where(e => e.Name == MeterCreditedEvent).OrderBy(e => e.Timestamp).ThenBy(e => e.Sequence).Select(e => Long(e.Metadata["units"]!)));
        row.Balance = row.CreditedUnits - row.ConsumedUnits;
        row.LastBalancedEventId = last.Id;
        row.ModifiedAt = now;
        return true;
    }

    /// <summary>A new customer with an external id picks up the events already ingested for it (<c>customer/repository.py create_context</c>).</summary>
    private void CustomerCreated(CustomerRecord customer)
    {
        if (customer.ExternalId is not null)
        {
            EnqueueMeterRecompute(customer.Id);
        }
    }

    /// <summary>The customer's meter rows, oldest first (<c>get_all_by_customer</c>), for its state.</summary>
    internal IEnumerable<CustomerMeterRecord> CustomerMetersOf(string customerId) =>
        _customerMeters.Where(r => r.CustomerId == customerId).OrderBy(r => r.CreatedAt);

    /// <summary><c>GET /v1/meters/</c>: by name unless sorted otherwise; <c>query</c> matches the name case-insensitively.</summary>
    public (JsonArray Items, int Total) ListMeters(string? query, bool? archived, IReadOnlyList<string> sorting, int page, int limit)
    {
        lock (_lock)
        {
            IEnumerable<MeterRecord> rows = _meters
                .Where(m => query is null || m.Name.Contains(query, StringComparison.OrdinalIgnoreCase))
                .Where(m => archived is null || (m.ArchivedAt is not null) == archived);
            foreach (var s in sorting)
            {
                Func<MeterRecord, IComparable?> key = s.TrimStart('-') == "name" ? m => m.Name : m => m.CreatedAt;
                rows = ThenSort(rows, key, s.StartsWith('-'));
            }

            var list = rows.ToList();
            return (Pagination.Items(list, page, limit, Models.Meter), list.Count);
        }
    }

    /// <summary>
    /// Adds a sort key after the ones already applied, as PostgreSQL orders: strings by ordinal (the C collation), and
    /// null after everything ascending and before everything descending.
    /// </summary>
    private static IEnumerable<T> ThenSort<T>(IEnumerable<T> rows, Func<T, IComparable?> key, bool descending)
    {
        var comparer = Comparer<IComparable?>.Create((a, b) => (a, b) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            (string x, string y) => string.CompareOrdinal(x, y),
            _ => a.CompareTo(b),
        });
        return rows is IOrderedEnumerable<T> ordered
            ? (descending ? ordered.ThenByDescending(key, comparer) : ordered.ThenBy(key, comparer))
            : (descending ? rows.OrderByDescending(key, comparer) : rows.OrderBy(key, comparer));
    }

    public JsonObject GetMeter(string id)
    {
        lock (_lock)
        {
            return _meters.FirstOrDefault(m => m.Id == id) is { } m ? Models.Meter(m) : throw PolarApiException.NotFound();
        }
    }

    /// <summary>
    /// <c>GET /v1/customer-meters/</c> (<c>customer_meter/service.py list</c>): rows of customers that are not deleted, filtered
    /// by customer, external customer id and meter (archived meters only when meter ids are given); by
    /// <c>-modified_at</c> unless sorted otherwise (PostgreSQL puts null first in descending order, last in ascending).
    /// </summary>
    public (JsonArray Items, int Total) ListCustomerMeters(CustomerMeterQuery q)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            IEnumerable<CustomerMeterRecord> rows = _customerMeters
                .Where(r => _customers[r.CustomerId].DeletedAt is null)
                .Where(r => q.OrganizationIds.Count == 0 || q.OrganizationIds.Contains(OrganizationId))
                .Where(r => q.CustomerIds.Count == 0 || q.CustomerIds.Contains(r.CustomerId))
                .Where(r => q.ExternalCustomerIds.Count == 0 || (_customers[r.CustomerId].ExternalId is { } x && q.ExternalCustomerIds.Contains(x)))
                .Where(r => q.MeterIds.Count > 0 ? q.MeterIds.Contains(r.MeterId) : Meter(r.MeterId).ArchivedAt is null);
            foreach (var s in q.Sorting)
            {
                Func<CustomerMeterRecord, IComparable?> key = s.TrimStart('-') switch
                {
                    "created_at" => r => r.CreatedAt,
                    "modified_at" => r => r.ModifiedAt,
                    "customer_id" => r => r.CustomerId,
                    "customer_name" => r => _customers[r.CustomerId].Name,
                    "meter_id" => r => r.MeterId,
                    "meter_name" => r => Meter(r.MeterId).Name,
                    "consumed_units" => r => r.ConsumedUnits,
                    "credited_units" => r => r.CreditedUnits,
                    _ => r => r.Balance,
                };
                rows = ThenSort(rows, key, s.StartsWith('-'));
            }

            var list = rows.ToList();
            return (Pagination.Items(list, q.Page, q.Limit, Models.CustomerMeter), list.Count);
        }
    }

    public JsonObject GetCustomerMeter(string id)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            return _customerMeters.FirstOrDefault(r => r.Id == id && _customers[r.CustomerId].DeletedAt is null) is { } r
                ? Models.CustomerMeter(r)
                : throw PolarApiException.NotFound();
        }
    }
}
