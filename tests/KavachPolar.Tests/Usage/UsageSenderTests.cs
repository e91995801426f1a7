using KavachPolar.Tests.Infrastructure;
using KavachPolar.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KavachPolar.Tests.Usage;

/// <summary>
/// The background sender against the emulator's ingest: Polar failing, asking to wait, refusing some events, and the
/// app stopped mid-batch. Each test compares what Polar holds with what was recorded: every event once.
/// </summary>
public sealed class UsageSenderTests : UsageTest
{
    private async Task<List<string>> RecordManyAsync(int count, string user = "sender-user")
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await RecordAsync(user, PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 1 }));
        }

        return ids;
    }

    /// <summary>Records in one host transaction, so the sender finds them all at once.</summary>
    private async Task<List<string>> RecordInOneTransactionAsync(int count)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.KavachPolarDbContext>();
        var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
        await using var tx = await db.Database.BeginTransactionAsync(Ct);
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await usage.RecordAsync("sender-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = 1 }, cancellationToken: Ct));
        }

        await tx.CommitAsync(Ct);
        return ids;
    }

    private void AssertEachOnceAtPolar(IEnumerable<string> ids)
    {
        var counts = Polar.IngestedEvents.Where(e => e.ExternalId is not null).GroupBy(e => e.ExternalId!).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(ids, id => Assert.Equal(1, counts.GetValueOrDefault(id)));
    }

    [Fact]
    public async Task Polar_answering_500_is_retried_until_it_accepts_and_nothing_is_counted_twice()
    {
        Polar.InjectFault(HttpMethod.Post, "/v1/events/ingest", 500, count: 2);
        var ids = await RecordManyAsync(3);

        await UntilAtPolarAsync([.. ids]);
        await UntilDrainedAsync();
        AssertEachOnceAtPolar(ids);
        Assert.True(IngestCalls >= 3, $"{IngestCalls} ingest calls: two refused, one accepted");
        Assert.Contains(App.Logs.Lines, l => l.Contains("not accepted: Polar answered HTTP 500", StringComparison.Ordinal));
        Assert.Equal(0L, await RowsAsync("accepted_at_us IS NULL"));
    }

    [Fact]
    public async Task Polar_answering_429_waits_for_retry_after_then_sends()
    {
        Polar.InjectFault(HttpMethod.Post, "/v1/events/ingest", 429, count: 1, retryAfter: TimeSpan.FromSeconds(1));
        var ids = await RecordManyAsync(2);

        await UntilAtPolarAsync([.. ids]);
        AssertEachOnceAtPolar(ids);
        Assert.Contains(App.Logs.Lines, l => l.Contains("not accepted: Polar answered HTTP 429", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_422_quarantines_exactly_the_events_polar_names_with_its_error_and_sends_the_rest()
    {
        await App.DisposeAsync(); // no sender while the outbox is set up
        // An event Polar refuses, as a row an earlier release (or a hand-written INSERT) could have left: an empty
        // string in its metadata, which Polar's metadata values may not be.
        await Db.ScalarAsync<object>(
            """INSERT INTO kavach_polar_usage_events (user_id, name, external_id, metadata, timestamp_us, recorded_at, attempts, next_attempt_at_us) VALUES ('sender-user', 'ai.summary', 'bad-1', '{"note": ""}', 0, now(), 0, 0)""",
            Ct);
        App = await StartAppAsync(FastSender(), createSchema: false);
        var good = await RecordManyAsync(2);

        await UntilAtPolarAsync([.. good]);
        await UntilDrainedAsync();
        AssertEachOnceAtPolar(good);
        Assert.DoesNotContain(Polar.IngestedEvents, e => e.ExternalId == "bad-1");
        Assert.Equal(1L, await RowsAsync("quarantined_at IS NOT NULL"));
        var error = await Db.ScalarAsync<string>("SELECT last_error FROM kavach_polar_usage_events WHERE external_id = 'bad-1'", Ct);
        Assert.StartsWith("metadata.note.str: String should have at least 1 character; metadata.note.int: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("customer_id", error, StringComparison.Ordinal); // the other union member's complaints are left out
        Assert.Contains(App.Logs.Lines, l => l.Contains("quarantined", StringComparison.Ordinal) && l.Contains("at least 1 character", StringComparison.Ordinal));

        // Visible in health, replayable (refused again: still quarantined, never sent).
        var report = await App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        var entry = report.Entries["kavach_polar"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal(1, entry.Data["quarantined_usage_events"]);
        Assert.Contains("ReplayQuarantinedAsync", entry.Description, StringComparison.Ordinal);
        var calls = IngestCalls;
        Assert.Equal(1, await WithUsageAsync(u => u.ReplayQuarantinedAsync(Ct)));
        await Wait.UntilAsync(async () => IngestCalls > calls && await RowsAsync("quarantined_at IS NOT NULL") == 1, because: "the replayed event is sent and refused again");
        Assert.DoesNotContain(Polar.IngestedEvents, e => e.ExternalId == "bad-1");
    }

    [Fact]
    public async Task An_app_stopped_mid_batch_and_started_again_loses_nothing_and_counts_nothing_twice()
    {
        await App.DisposeAsync();
        // Small bodies: one claim is sent in several requests. The first goes through; the second is held until the
        // app stops, so the stop comes in the middle of a batch whose first part Polar has.
        var gate = new IngestGate(pass: 1);
        App = await StartAppAsync(FastSender(batchSize: 200, maxBodyBytes: 4096), createSchema: false, gate: gate);
        var ids = await RecordInOneTransactionAsync(120);
        await Wait.UntilAsync(() => Task.FromResult(gate.Held > 0), because: "the sender is in the middle of its batch");
        await App.DisposeAsync();
        var atStop = Polar.IngestedEvents.Count;

        App = await StartAppAsync(FastSender(batchSize: 200, maxBodyBytes: 4096), createSchema: false);
        await UntilAtPolarAsync([.. ids]);
        await UntilDrainedAsync();

        AssertEachOnceAtPolar(ids);
        Assert.Equal(120, Polar.IngestedEvents.Count);
        Assert.InRange(atStop, 1, 119);
    }

    [Fact]
    public async Task Events_polar_took_whose_settle_was_lost_are_sent_again_and_polar_counts_them_once()
    {
        var ids = await RecordManyAsync(4);
        await UntilAtPolarAsync([.. ids]);
        await UntilDrainedAsync();
        await App.DisposeAsync();

        // As if the process died between Polar's 200 and the settle: the rows still wait.
        await Db.ScalarAsync<object>("UPDATE kavach_polar_usage_events SET accepted_at_us = NULL", Ct);
        var calls = IngestCalls;
        App = await StartAppAsync(FastSender(), createSchema: false);
        await UntilDrainedAsync();

        Assert.True(IngestCalls > calls, "the events were sent again");
        AssertEachOnceAtPolar(ids);
        Assert.Equal(4, Polar.IngestedEvents.Count);
    }

    [Fact]
    public async Task Events_of_a_user_without_a_polar_customer_are_sent_by_external_id_and_count_once_the_customer_exists()
    {
        var ids = await RecordManyAsync(2, "later-customer");
        await UntilAtPolarAsync([.. ids]);
        Assert.DoesNotContain(Polar.Customers, c => c.ExternalId == "later-customer");

        Polar.CreateCustomer("later.customer@gmail.com", externalId: "later-customer");
        await Polar.AdvanceTimeAsync(TimeSpan.FromSeconds(16), Ct);
        var meter = await WithUsageAsync(u => u.GetMeterAsync("later-customer", PolarEmulatorDemo.MeterId, Ct));

        Assert.NotNull(meter);
        Assert.Equal(2m, meter.ConsumedUnits);
        Assert.Equal(0, meter.PendingEvents);
    }
    [Fact]
    public async Task A_send_slower_than_the_lease_keeps_its_claim_so_another_instance_does_not_send_the_same_events()
    {
        await App.DisposeAsync();
        // A short lease, so that one request to Polar (which gives up after 8 s) outlasts two of them.
        var lease = TimeSpan.FromSeconds(2);
        UsageSendSettings Sender() => new()
        {
            PollInterval = TimeSpan.FromMilliseconds(100),
            IdlePollInterval = TimeSpan.FromMilliseconds(100),
            Lease = lease,
            MaxBackoff = TimeSpan.FromMilliseconds(500),
            MeterCacheFor = TimeSpan.Zero,
        };

        // Instance A's request to Polar hangs (Polar slow); instance B shares the database, looks at the queue every
        // 100 ms and claims whatever is due and not leased.
        var gate = new IngestGate(pass: 0);
        App = await StartAppAsync(Sender(), createSchema: false, gate: gate);
        var ids = await RecordInOneTransactionAsync(3);
        await Wait.UntilAsync(() => Task.FromResult(gate.Held > 0), because: "instance A is sending its batch");
        // B starts once A holds the batch: started earlier, B could claim first on a starved machine and A never send.
        await using var other = await StartAppAsync(Sender(), createSchema: false);
        var owner = await Db.ScalarAsync<string>("SELECT min(lock_owner) FROM kavach_polar_usage_events", Ct);
        var firstLeaseEnds = await Db.ScalarAsync<long>("SELECT max(locked_until_us) FROM kavach_polar_usage_events", Ct);

        // A lease past the end of A's first one, on the database's clock: without renewal B has claimed by now.
        var past = firstLeaseEnds + (long)lease.TotalMicroseconds;
        await Wait.UntilAsync(
            async () => await Db.ScalarAsync<bool>($"SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint > {past}", Ct),
            because: "the database's clock passes a lease beyond A's first");

        Assert.Equal(1, gate.Held);
        Assert.Equal(3L, await RowsAsync($"lock_owner = '{owner}' AND locked_until_us > {firstLeaseEnds}"));
        Assert.Equal(0, IngestCalls);

        // Polar answers at last: A settles its own claim, each event sent once.
        gate.Release();
        await UntilAtPolarAsync([.. ids]);
        await UntilDrainedAsync();
        AssertEachOnceAtPolar(ids);
        Assert.Equal(1, IngestCalls);
    }
    [Fact]
    public async Task Through_500s_429s_a_422_a_stop_mid_batch_and_a_lost_settle_Polars_meter_counts_exactly_the_tokens_recorded()
    {
        await App.DisposeAsync();
        Polar.CreateCustomer("totals.customer@gmail.com", externalId: "totals-user");
        // A refused event among the recorded ones (an empty metadata string, as a hand-written INSERT could leave).
        await Db.ScalarAsync<object>(
            """INSERT INTO kavach_polar_usage_events (user_id, name, external_id, metadata, timestamp_us, recorded_at, attempts, next_attempt_at_us) VALUES ('totals-user', 'ai.summary', 'bad-total', '{"tokens": 1000, "note": ""}', 0, now(), 0, 0)""",
            Ct);

        // First life: small bodies; Polar fails twice with 500 and once with 429, refuses the bad event with 422, takes the
        // rest of that body and the next one, and the process stops while the request after them is held.
        var gate = new IngestGate(pass: 6);
        App = await StartAppAsync(FastSender(batchSize: 200, maxBodyBytes: 4096), createSchema: false, gate: gate);
        Polar.InjectFault(HttpMethod.Post, "/v1/events/ingest", 500, count: 2);
        Polar.InjectFault(HttpMethod.Post, "/v1/events/ingest", 429, count: 1, retryAfter: TimeSpan.FromSeconds(1));
        var recorded = new Dictionary<string, int>();
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<KavachPolar.Storage.KavachPolarDbContext>();
            var usage = scope.ServiceProvider.GetRequiredService<IKavachPolarUsage>();
            await using var tx = await db.Database.BeginTransactionAsync(Ct);
            for (var i = 0; i < 90; i++)
            {
                var tokens = 1 + (i % 7);
                recorded[await usage.RecordAsync("totals-user", PolarEmulatorDemo.Event, new Dictionary<string, object> { ["tokens"] = tokens }, cancellationToken: Ct)] = tokens;
            }

            await tx.CommitAsync(Ct);
        }

        await Wait.UntilAsync(() => Task.FromResult(gate.Held > 0), because: "the sender is in the middle of its batch");
        await App.DisposeAsync();

        // As if the process had also died between Polar's 200 and a settle: some accepted rows wait again.
        var atStop = Polar.IngestedEvents.Count;
        Assert.InRange(atStop, 10, recorded.Count - 1);
        Assert.Equal(10L, await Db.ScalarAsync<long>(
            "WITH u AS (UPDATE kavach_polar_usage_events SET accepted_at_us = NULL WHERE id IN (SELECT id FROM kavach_polar_usage_events WHERE accepted_at_us IS NOT NULL ORDER BY id LIMIT 10) RETURNING 1) SELECT count(*) FROM u",
            Ct));

        // Second life: everything left is sent.
        App = await StartAppAsync(FastSender(batchSize: 200, maxBodyBytes: 4096), createSchema: false);
        await UntilAtPolarAsync([.. recorded.Keys]);
        await UntilDrainedAsync();
        await Polar.AdvanceTimeAsync(TimeSpan.FromSeconds(16), Ct);
        var meter = await WithUsageAsync(u => u.GetMeterAsync("totals-user", PolarEmulatorDemo.MeterId, Ct));

        // Polar holds each recorded event once, the refused one not at all, and its meter is the sum recorded.
        AssertEachOnceAtPolar(recorded.Keys);
        Assert.Equal(recorded.Count, Polar.IngestedEvents.Count);
        Assert.DoesNotContain(Polar.IngestedEvents, e => e.ExternalId == "bad-total");
        Assert.Equal(1L, await RowsAsync("quarantined_at IS NOT NULL AND external_id = 'bad-total'"));
        Assert.NotNull(meter);
        Assert.Equal((decimal)recorded.Values.Sum(), meter.ConsumedUnits);
        Assert.Equal(0, meter.PendingEvents);
        Assert.True(IngestCalls > 6, $"{IngestCalls} ingest calls: failures, a stop and a resend took more than the bodies alone");
    }
}
