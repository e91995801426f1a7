using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

internal sealed partial class EmulatorStore
{
    private readonly List<EventRecord> _events = [];

    /// <summary>The unique index on (organization_id, external_id): events without an external id are not in it.</summary>
    private readonly Dictionary<string, EventRecord> _eventsByExternalId = new(StringComparer.Ordinal);

    private readonly Dictionary<string, EventRecord> _eventsById = new(StringComparer.Ordinal);

    public IReadOnlyList<EmulatorIngestedEvent> PublicEvents
    {
        get
        {
            lock (_lock)
            {
                return _events.Where(e => !e.System).Select(e => e.ToPublic()).ToList();
            }
        }
    }

    /// <summary>
    /// <c>event/service.py ingest</c> after request validation. Every event is checked first and every error collected
    /// (with an organization token, <c>organization_id</c> must not be set; a <c>customer_id</c> must be a customer of
    /// the organization that is not deleted; a <c>member_id</c> must be a member, and the emulator has none), then one
    /// 422 <c>PolarRequestValidationError</c> refuses the whole batch. Otherwise the batch is inserted with
    /// <c>ON CONFLICT (organization_id, external_id) DO NOTHING</c> (<c>event/repository.py insert_batch</c>): an
    /// external id seen before, in an earlier batch or earlier in this one, is a duplicate, whatever its payload; events
    /// without one never are. Then, as the <c>event.ingested</c> task does, parents are resolved, the customers' unactivated
    /// meters that a new event matches are activated, and each customer's meter recompute is queued (debounced).
    /// </summary>
    public JsonObject Ingest(IReadOnlyList<EventInput> inputs)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            var errors = new ValidationErrors();
            for (var i = 0; i < inputs.Count; i++)
            {
                var e = inputs[i];
                if (e.OrganizationId is not null)
                {
                    errors.Add("organization_token", ValidationErrors.Loc("body", "events", i, "organization_id"),
                        "Setting organization_id is disallowed when using an organization token.", JsonValue.Create(e.OrganizationId));
                }
                else if (e.CustomerId is not null && LiveCustomer(e.CustomerId) is null)
                {
                    errors.Add("customer_id", ValidationErrors.Loc("body", "events", i, "customer_id"), "Customer not found.", JsonValue.Create(e.CustomerId));
                }
                else if (e.MemberId is not null)
                {
                    errors.Add("member_id", ValidationErrors.Loc("body", "events", i, "member_id"), "Member not found.", JsonValue.Create(e.MemberId));
                }
            }

            if (errors.Count > 0)
            {
                throw PolarApiException.Validation("PolarRequestValidationError", errors);
            }

            var now = Now;
            var inserted = new List<EventRecord>();
            foreach (var input in inputs)
            {
                if (input.ExternalId is not null && _eventsByExternalId.ContainsKey(input.ExternalId))
                {
                    continue;
                }

                var record = new EventRecord
                {
                    Id = Ids.NewUuid(),
                    Name = input.Name,
                    Timestamp = input.Timestamp ?? now,
                    IngestedAt = now,
                    CustomerId = input.CustomerId,
                    ExternalCustomerId = input.ExternalCustomerId,
                    MemberId = input.MemberId,
                    ExternalMemberId = input.ExternalMemberId,
                    ExternalId = input.ExternalId,
                    ParentReference = input.ParentReference,
                    Rooted = input.ParentReference is null,
                    Metadata = (JsonObject)input.Metadata.DeepClone(),
                    Sequence = _events.Count,
                };
                _events.Add(record);
                _eventsById[record.Id] = record;
                if (record.ExternalId is not null)
                {
                    _eventsByExternalId[record.ExternalId] = record;
                }

                inserted.Add(record);
            }

            Ingested(inserted);
            return new JsonObject { ["inserted"] = inserted.Count, ["duplicates"] = inputs.Count - inserted.Count };
        }
    }

    /// <summary>
    /// <c>event/service.py ingested</c>: links pending parents (a child naming a parent by Polar id or external id, in
    /// either order of arrival), then processes only the events whose chain reaches a root, new ones and earlier orphans
    /// alike.
    /// </summary>
    private void Ingested(List<EventRecord> inserted)
    {
        var processed = inserted.Where(e => e.Rooted).ToList();
        bool progress;
        do
        {
            progress = false;
            foreach (var orphan in _events.Where(e => !e.Rooted))
            {
                var parent = orphan.ParentId is { } id ? _eventsById[id] : FindParent(orphan.ParentReference!);
                if (parent is null)
                {
                    continue;
                }

                orphan.ParentId = parent.Id;
                if (parent.Rooted)
                {
                    orphan.Rooted = true;
                    processed.Add(orphan);
                    progress = true;
                }
            }
        }
        while (progress);

        var now = Now;
        foreach (var customer in processed.Select(CustomerOf).OfType<CustomerRecord>().Distinct().OrderBy(c => c.CreatedAt).ToList())
        {
            // _activate_matching_customer_meters: a row a recompute created without events comes alive when one matches.
            foreach (var row in _customerMeters.Where(r => r.CustomerId == customer.Id && r.ActivatedAt is null))
            {
                var meter = _meters.First(m => m.Id == row.MeterId);
                if (processed.Any(e => BelongsTo(e, customer) && meter.Rules.Matches(e)))
                {
                    row.ActivatedAt = now;
                    row.ModifiedAt = now;
                }
            }

            EnqueueMeterRecompute(customer.Id);
        }
    }

    private EventRecord? FindParent(string reference) =>
        _eventsById.TryGetValue(reference, out var byId) ? byId : _eventsByExternalId.GetValueOrDefault(reference);

    /// <summary>The live customer an event belongs to: by <c>customer_id</c>, or by <c>external_customer_id</c> at query time.</summary>
    private CustomerRecord? CustomerOf(EventRecord e) =>
        e.CustomerId is not null ? LiveCustomer(e.CustomerId) : CustomerByExternalId(e.ExternalCustomerId!);

    private static bool BelongsTo(EventRecord e, CustomerRecord c) =>
        e.CustomerId == c.Id || (e.ExternalCustomerId is not null && e.ExternalCustomerId == c.ExternalId);
}
