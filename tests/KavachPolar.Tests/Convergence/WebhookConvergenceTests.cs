using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KavachPolar.Tests.Convergence;

/// <summary>
/// Polar's delivery at its worst, end to end: every event of many random subscription histories
/// delivered more than once, shuffled, by concurrent senders that retry like Polar, to two app
/// instances sharing one PostgreSQL that is restarted under them. The store must end exactly where
/// Polar is, never go back to an older snapshot on the way, and tell the app every change in order. The histories carry
/// the benefit grants Polar sends along them (granted, failed until an account is linked, revoked on past_due and at the
/// end, granted again under the same ids, cycled, moved by a plan change): every instance must end up answering, per
/// (user, benefit), what Polar's grants say (any grant granted), and tell the app every change of a hold in order.
/// </summary>
[Collection(ChaosTests.Name)]
public sealed class WebhookConvergenceTests : ChaosDatabaseTest
{
    /// <summary>Subscriptions per run; CI uses the default, a longer run sets e.g. 2000.</summary>
    public const string SubscriptionsVariable = "KAVACH_CONVERGENCE_SUBSCRIPTIONS";

    /// <summary>Reproduces a run: the seed is printed with the figures.</summary>
    public const string SeedVariable = "KAVACH_CONVERGENCE_SEED";

    public const string RestartsVariable = "KAVACH_CONVERGENCE_RESTARTS";

    private const int Senders = 8;

    [Theory]
    [InlineData(true)] // the one-round-trip SQL function the migration ships
    [InlineData(false)] // the general EF Core path (EnsureCreated databases, other providers, the rare cases)
    public async Task Duplicated_shuffled_deliveries_to_two_instances_across_database_restarts_converge_to_polars_state(bool fastPath)
    {
        var subscriptions = IntFromEnvironment(SubscriptionsVariable, 150);
        var restarts = IntFromEnvironment(RestartsVariable, 2);
        var seed = IntFromEnvironment(SeedVariable, Random.Shared.Next());
        var history = SubscriptionHistory.Generate(subscriptions, seed);
        var rng = new Random(seed);

        // Every event more than once (Polar is at-least-once and merchants redeliver), all shuffled.
        var deliveries = history.Events.SelectMany(e => Enumerable.Repeat(e, rng.Next(2, 4))).OrderBy(_ => rng.Next()).ToList();

        var recorder = new ChangeRecorder();
        KavachTestApp? a = null, b = null;
        var stopwatch = Stopwatch.StartNew();
        var figures = new Figures { Planned = deliveries.Count, Events = history.Events.Count };
        try
        {
            a = await StartInstanceAsync(Db, recorder, "a", createSchema: true, fastPath);
            b = await StartInstanceAsync(Db, recorder, "b", createSchema: false, fastPath);
            var probeFunction = new SqlProbe(Db.ConnectionString);
            Assert.Equal(fastPath, await probeFunction.ScalarAsync<bool>("SELECT to_regproc('kavach_polar_apply_subscription') IS NOT NULL", Ct));
            using var watcherStop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var watcher = new StoreWatcher(Db.ConnectionString);
            var watching = watcher.RunAsync(watcherStop.Token);

            var delivery = new PolarLikeSender([a, b], deliveries, seed, figures);
            var sending = delivery.RunAsync(Senders, Ct);
            var chaosDone = RestartDuringDeliveryAsync(Chaos, restarts, deliveries.Count, figures, sending, Ct);
            // The app reads benefits while deliveries run (a gate being hit), so both instances cache users that later
            // deliveries change: what they answer at the end shows whether every change reached both caches.
            var reading = ReadBenefitsDuringDeliveryAsync([a, b], history, seed, figures, sending);
            await Task.WhenAll(sending, chaosDone, reading);
            figures.Restarts = Chaos.Stops;
            figures.Delivery = stopwatch.Elapsed;

            var probe = new SqlProbe(Db.ConnectionString);
            await WaitForCallbacksAsync(probe);
            await watcherStop.CancelAsync();
            await watching;
            figures.Elapsed = stopwatch.Elapsed;

            var mismatches = new List<string>();
            mismatches.AddRange(watcher.Violations);
            mismatches.AddRange(delivery.Violations);
            mismatches.AddRange(await CompareSubscriptionsAsync(probe, history));
            mismatches.AddRange(await CompareUsersAsync(probe, history));
            mismatches.AddRange(await CompareWebhookEventsAsync(probe, history, delivery.Acknowledged));
            mismatches.AddRange(CompareCallbacks(history, recorder));
            mismatches.AddRange(await CompareGrantsAsync(probe, history));
            mismatches.AddRange(await CompareAccessAsync(probe, [a, b], history));
            mismatches.AddRange(CompareBenefitCallbacks(history, recorder));
            figures.Mismatches = mismatches.Count;
            figures.WatcherSamples = watcher.Samples;
            figures.CallbackRuns = recorder.Count;
            figures.BenefitCallbackRuns = recorder.BenefitCount;
            figures.CallbackFailures = recorder.Failures;
            figures.GrantEvents = history.GrantEvents;

            Report($"convergence ({(fastPath ? "one-round-trip function" : "general EF path")}): seed={seed} subscriptions={subscriptions} users={history.Users.Count} " +
                $"(linked by metadata {history.Users.Count(u => u.LinkedByMetadata)}, through the customer only {history.WithoutMetadata.Count} subscriptions) {figures}");
            foreach (var m in mismatches.Take(20))
            {
                Report("  mismatch: " + m);
            }

            Assert.True(figures.Restarts >= restarts, $"the database was restarted {figures.Restarts} times, expected {restarts}");
            Assert.True(figures.Status503 > 0, "no delivery got a 503 while the database was down");
            Assert.True(watcher.Samples > 0, "the watcher never read the store");
            Assert.True(figures.BenefitReads > 0, "nothing read benefits while deliveries ran");
            Assert.Empty(mismatches);
        }
        finally
        {
            await Chaos.EnsureRunningAsync(CancellationToken.None); // before the apps stop (ChaosDatabaseTest does it again before the drop)
            if (b is not null)
            {
                await b.DisposeAsync();
            }

            if (a is not null)
            {
                await a.DisposeAsync();
            }
        }
    }

    private static Task<KavachTestApp> StartInstanceAsync(PostgresDatabase db, ChangeRecorder recorder, string name, bool createSchema, bool fastPath) =>
        KavachTestApp.StartAsync(
            db.ConnectionString,
            new()
            {
                Configure = o =>
                {
                    o.OnSubscriptionChange = (change, _) =>
                    {
                        // Some calls fail, as a host's would: those changes must come again, in order.
                        if (recorder.ShouldFail())
                        {
                            throw new InvalidOperationException("callback failed on purpose");
                        }

                        recorder.Record(name, change);
                        return Task.CompletedTask;
                    };
                    o.OnBenefitChange = (change, _) =>
                    {
                        if (recorder.ShouldFail())
                        {
                            throw new InvalidOperationException("callback failed on purpose");
                        }

                        recorder.RecordBenefit(change);
                        return Task.CompletedTask;
                    };
                },
                Services = s => s.AddLogging(l => l.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Npgsql", LogLevel.Warning)),
                CreateSchema = createSchema,
                FastPath = fastPath,
            });

    /// <summary>
    /// Stops the database when a share of the deliveries has been acknowledged, keeps it down until
    /// a sender has seen a 503, and starts it again; <paramref name="restarts"/> times.
    /// </summary>
    private static async Task RestartDuringDeliveryAsync(ChaosPostgres chaos, int restarts, int total, Figures figures, Task sending, CancellationToken ct)
    {
        for (var r = 1; r <= restarts; r++)
        {
            var threshold = (long)total * r / (restarts + 1);
            await Wait.UntilAsync(
                () => Task.FromResult(Interlocked.Read(ref figures.Acknowledged) >= threshold || sending.IsCompleted),
                TimeSpan.FromMinutes(10),
                $"{threshold} deliveries acknowledged before restart {r}",
                TimeSpan.FromMilliseconds(10));

            if (sending.IsCompleted)
            {
                return;
            }

            var before = Interlocked.Read(ref figures.Status503);
            var down = Stopwatch.StartNew();
            await chaos.StopAsync(ct);
            // Until a sender has seen the outage (a 503), or for 10 s when none has sent meanwhile: either way the
            // database then comes back.
            await Wait.UntilAsync(
                () => Task.FromResult(Interlocked.Read(ref figures.Status503) != before || down.Elapsed >= TimeSpan.FromSeconds(10)),
                TimeSpan.FromSeconds(30),
                "a 503 during the outage, or its 10 s",
                TimeSpan.FromMilliseconds(20));

            // The outage itself, not a wait for an event: the database stays down half a second more while senders retry.
            await Task.Delay(500, ct);
            await chaos.StartAsync(ct);
            figures.Downtime += down.Elapsed;
        }
    }

    private static Task WaitForCallbacksAsync(SqlProbe db) =>
        Wait.UntilAsync(
            async () => await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct) == 0,
            TimeSpan.FromSeconds(60),
            "every callback runs within a minute of the last delivery",
            interval: TimeSpan.FromMilliseconds(100),
            describe: async () =>
            {
                var rows = await db.QueryAsync("SELECT id, user_id, attempts, next_attempt_at_us, locked_until_us, lock_owner, last_error FROM kavach_polar_callbacks ORDER BY id LIMIT 5", Ct);
                return $"{await db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct)} still pending, e.g. "
                    + string.Join("; ", rows.Select(r => string.Join(", ", r.Select(kv => $"{kv.Key}={kv.Value}"))));
            });

    private static async Task<List<string>> CompareSubscriptionsAsync(SqlProbe db, SubscriptionHistory history)
    {
        var mismatches = new List<string>();
        var rows = (await db.QueryAsync("SELECT id, user_id, customer_id, status, product_id, current_period_end, cancel_at_period_end, scheduled_product_id, scheduled_change_at, version_us FROM kavach_polar_subscriptions", Ct))
            .ToDictionary(r => (string)r["id"]!, StringComparer.Ordinal);
        foreach (var (id, expected) in history.Final)
        {
            if (!rows.TryGetValue(id, out var row))
            {
                mismatches.Add($"subscription {id} missing");
                continue;
            }

            var actual = $"user={row["user_id"]} customer={row["customer_id"]} status={row["status"]} product={row["product_id"]} end={Format(row["current_period_end"])} cancel={row["cancel_at_period_end"]} scheduled={row["scheduled_product_id"]}@{Format(row["scheduled_change_at"])} version={row["version_us"]}";
            var wanted = $"user={history.UserOfSubscription[id]} customer={expected.CustomerId} status={expected.Status} product={expected.ProductId} end={Format(expected.PeriodEnd)} cancel={expected.CancelAtPeriodEnd} scheduled={expected.ScheduledChange?.ProductId}@{Format(expected.ScheduledChange?.AppliesAt)} version={expected.VersionUs}";
            if (actual != wanted)
            {
                mismatches.Add($"subscription {id}: stored {actual}, Polar has {wanted}");
            }
        }

        if (rows.Count != history.Final.Count)
        {
            mismatches.Add($"{rows.Count} subscription rows for {history.Final.Count} subscriptions");
        }

        return mismatches;
    }

    private static async Task<List<string>> CompareUsersAsync(SqlProbe db, SubscriptionHistory history)
    {
        var mismatches = new List<string>();
        var rows = (await db.QueryAsync("SELECT id, email, polar_customer_id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_current_period_end, polar_cancel_at_period_end, polar_scheduled_product_id, polar_scheduled_change_at FROM kavach_users", Ct))
            .ToDictionary(r => (string)r["id"]!, StringComparer.Ordinal);
        foreach (var user in history.Users)
        {
            if (!rows.TryGetValue(user.Id, out var row))
            {
                mismatches.Add($"user {user.Id} missing from kavach_users");
                continue;
            }

            var snapshots = user.SubscriptionIds.Select(id => history.Final[id]).ToList();
            var current = SubscriptionHistory.Current(snapshots);
            var status = current?.Status ?? snapshots.OrderByDescending(s => s.VersionUs).First().Status;
            var wanted = $"email={user.Email} customer={user.BoundCustomerId} subscription={current?.Id} status={status} product={current?.ProductId} end={Format(current?.PeriodEnd)} cancel={current?.CancelAtPeriodEnd ?? false} scheduled={current?.ScheduledChange?.ProductId}@{Format(current?.ScheduledChange?.AppliesAt)}";
            var actual = $"email={row["email"]} customer={row["polar_customer_id"]} subscription={row["polar_subscription_id"]} status={row["polar_subscription_status"]} product={row["polar_product_id"]} end={Format(row["polar_current_period_end"])} cancel={row["polar_cancel_at_period_end"]} scheduled={row["polar_scheduled_product_id"]}@{Format(row["polar_scheduled_change_at"])}";
            if (actual != wanted)
            {
                mismatches.Add($"kavach_users {user.Id}: stored {actual}, expected {wanted}");
            }
        }

        if (rows.Count != history.Users.Count)
        {
            mismatches.Add($"{rows.Count} kavach_users rows for {history.Users.Count} users");
        }

        return mismatches;
    }

    private static async Task<List<string>> CompareWebhookEventsAsync(SqlProbe db, SubscriptionHistory history, IReadOnlyDictionary<string, int> acknowledged)
    {
        var mismatches = new List<string>();
        var rows = (await db.QueryAsync("SELECT id, event_type, outcome FROM kavach_polar_webhook_events", Ct))
            .ToDictionary(r => (string)r["id"]!, StringComparer.Ordinal);
        foreach (var id in acknowledged.Keys.Where(id => !rows.ContainsKey(id)))
        {
            mismatches.Add($"webhook {id} got a 2xx but is not in kavach_polar_webhook_events");
        }

        foreach (var e in history.Events)
        {
            if (!acknowledged.ContainsKey(e.WebhookId))
            {
                mismatches.Add($"webhook {e.WebhookId} was never acknowledged");
            }
            else if (rows.TryGetValue(e.WebhookId, out var row) && ((string?)row["event_type"] != e.Type || (string?)row["outcome"] is not ("applied" or "stale")))
            {
                mismatches.Add($"webhook {e.WebhookId} ({e.Type}) recorded as {row["event_type"]}/{row["outcome"]}");
            }
        }

        if (rows.Count != history.Events.Count)
        {
            mismatches.Add($"{rows.Count} webhook event rows for {history.Events.Count} events");
        }

        return mismatches;
    }

    /// <summary>
    /// Per user, the callbacks (a re-run of the same change collapsed) must form one unbroken chain
    /// from nothing to the final state: a lost change breaks the chain, a reordered one too.
    /// </summary>
    private static List<string> CompareCallbacks(SubscriptionHistory history, ChangeRecorder recorder)
    {
        var mismatches = new List<string>();
        var byUser = recorder.InOrder().GroupBy(c => c.UserId).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var user in history.Users)
        {
            var expected = SubscriptionHistory.Current(user.SubscriptionIds.Select(id => history.Final[id]))?.ToKavach();
            var changes = byUser.GetValueOrDefault(user.Id) ?? [];
            var collapsed = new List<KavachSubscriptionChange>();
            foreach (var c in changes)
            {
                if (collapsed.Count == 0 || collapsed[^1] != c)
                {
                    collapsed.Add(c);
                }
            }

            KavachSubscription? state = null;
            foreach (var c in collapsed)
            {
                if (c.Previous != state)
                {
                    mismatches.Add($"callbacks of {user.Id}: change {c.EventId} ({c.EventType}) starts from {c.Previous}, the previous change left {state}");
                }

                if (c.Previous == c.Current)
                {
                    mismatches.Add($"callbacks of {user.Id}: change {c.EventId} changes nothing");
                }

                state = c.Current;
            }

            if (state != expected)
            {
                mismatches.Add($"callbacks of {user.Id}: the last change left {state}, the final state is {expected}");
            }
        }

        return mismatches;
    }

    /// <summary>
    /// Reads random users' benefits from both instances until the deliveries are done, as a gated page would; store
    /// failures while the database is down are expected and skipped.
    /// </summary>
    private static async Task ReadBenefitsDuringDeliveryAsync(KavachTestApp[] apps, SubscriptionHistory history, int seed, Figures figures, Task sending)
    {
        var rng = new Random(seed ^ 0x5eed);
        var entitlements = apps.Select(app => app.Services.GetRequiredService<IKavachPolarEntitlements>()).ToArray();
        while (!sending.IsCompleted)
        {
            var user = history.Users[rng.Next(history.Users.Count)];
            try
            {
                await entitlements[rng.Next(entitlements.Length)].GetBenefitsAsync(user.Id, Ct);
                figures.BenefitReads++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !Ct.IsCancellationRequested)
            {
                // The database is down for a restart (or the read ran out of its budget): the next read tries again.
            }

            // The reader's pace (a read every few milliseconds beside the deliveries), not a wait for an event.
            await Task.Delay(5, Ct);
        }
    }

    /// <summary>Each grant row as Polar's last snapshot of it has it, owned by its subscription's user.</summary>
    private static async Task<List<string>> CompareGrantsAsync(SqlProbe db, SubscriptionHistory history)
    {
        var mismatches = new List<string>();
        var rows = (await db.QueryAsync("SELECT id, user_id, customer_id, benefit_id, subscription_id, granted_at, revoked_at, error_type, version_us FROM kavach_polar_benefit_grants", Ct))
            .ToDictionary(r => (string)r["id"]!, StringComparer.Ordinal);
        foreach (var (id, expected) in history.FinalGrants)
        {
            if (!rows.TryGetValue(id, out var row))
            {
                mismatches.Add($"grant {id} missing");
                continue;
            }

            var actual = $"user={row["user_id"]} customer={row["customer_id"]} benefit={row["benefit_id"]} subscription={row["subscription_id"]} granted={Format(row["granted_at"])} revoked={Format(row["revoked_at"])} error={row["error_type"]} version={row["version_us"]}";
            var wanted = $"user={history.UserOfSubscription[expected.SubscriptionId]} customer={expected.CustomerId} benefit={expected.BenefitId} subscription={expected.SubscriptionId} granted={Format(expected.GrantedAt)} revoked={Format(expected.RevokedAt)} error={(expected.ActionRequired ? "BenefitActionRequiredError" : "")} version={expected.VersionUs}";
            if (actual != wanted)
            {
                mismatches.Add($"grant {id}: stored {actual}, Polar has {wanted}");
            }
        }

        if (rows.Count != history.FinalGrants.Count)
        {
            mismatches.Add($"{rows.Count} grant rows for {history.FinalGrants.Count} grants");
        }

        return mismatches;
    }

    /// <summary>
    /// Per (user, benefit), held or not, as Polar's grants say (any grant granted): in the table, and as each instance
    /// answers through <see cref="IKavachPolarEntitlements"/> (its cache), given the announcement's time to arrive.
    /// </summary>
    private static async Task<List<string>> CompareAccessAsync(SqlProbe db, KavachTestApp[] apps, SubscriptionHistory history)
    {
        var expected = history.HeldByUser();
        var mismatches = new List<string>();
        var stored = (await db.QueryAsync("SELECT DISTINCT user_id, benefit_id FROM kavach_polar_benefit_grants WHERE granted_at IS NOT NULL AND user_id IS NOT NULL", Ct))
            .ToLookup(r => (string)r["user_id"]!, r => (string)r["benefit_id"]!, StringComparer.Ordinal);
        foreach (var (user, held) in expected)
        {
            var inTable = string.Join(",", stored[user].Order(StringComparer.Ordinal));
            if (inTable != string.Join(",", held))
            {
                mismatches.Add($"benefits of {user}: the table holds [{inTable}], Polar grants [{string.Join(",", held)}]");
            }
        }

        if (stored.Select(g => g.Key).FirstOrDefault(u => !expected.ContainsKey(u)) is { } stranger)
        {
            mismatches.Add($"{stranger} holds benefits in the table but is no user of the history");
        }

        var answers = new List<string>();
        try
        {
            await Wait.UntilAsync(
                async () =>
                {
                    answers = await CompareInstancesAsync(apps, expected, history.Benefits);
                    return answers.Count == 0;
                },
                Wait.ForAnnouncement,
                "every instance answers each user's benefits as Polar grants them");
        }
        catch (Xunit.Sdk.XunitException)
        {
            mismatches.AddRange(answers);
        }

        return mismatches;
    }

    private static async Task<List<string>> CompareInstancesAsync(KavachTestApp[] apps, Dictionary<string, SortedSet<string>> expected, List<PlannedBenefit> benefits)
    {
        var mismatches = new List<string>();
        for (var i = 0; i < apps.Length; i++)
        {
            var entitlements = apps[i].Services.GetRequiredService<IKavachPolarEntitlements>();
            foreach (var (user, held) in expected)
            {
                var answer = (await entitlements.GetBenefitsAsync(user, Ct)).Select(b => b.BenefitId).Order(StringComparer.Ordinal).ToList();
                if (!answer.SequenceEqual(held))
                {
                    mismatches.Add($"instance {i} answers {user} holds [{string.Join(",", answer)}], Polar grants [{string.Join(",", held)}]");
                }

                // The gate's question, one benefit at a time: held or not.
                foreach (var b in benefits)
                {
                    if (await entitlements.HasBenefitAsync(user, b.Id, Ct) != held.Contains(b.Id))
                    {
                        mismatches.Add($"instance {i}: HasBenefitAsync({user}, {b.Type}) is not {held.Contains(b.Id)}");
                    }
                }
            }
        }

        return mismatches;
    }

    /// <summary>
    /// Per (user, benefit), the benefit changes (a re-run of the same change collapsed) must form one unbroken chain of
    /// holds from not held to what Polar's grants say at the end, each change changing the hold.
    /// </summary>
    private static List<string> CompareBenefitCallbacks(SubscriptionHistory history, ChangeRecorder recorder)
    {
        var mismatches = new List<string>();
        var expected = history.HeldByUser();
        var byPair = recorder.BenefitsInOrder().GroupBy(c => (c.UserId, c.BenefitId)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (user, held) in expected)
        {
            foreach (var benefit in history.Benefits)
            {
                var collapsed = new List<KavachBenefitChange>();
                foreach (var c in byPair.GetValueOrDefault((user, benefit.Id)) ?? [])
                {
                    if (collapsed.Count == 0 || collapsed[^1].EventId != c.EventId || (collapsed[^1].Current is null) != (c.Current is null))
                    {
                        collapsed.Add(c);
                    }
                }

                var holds = false;
                foreach (var c in collapsed)
                {
                    if ((c.Previous is not null) != holds)
                    {
                        mismatches.Add($"benefit callbacks of {user}/{benefit.Type}: change {c.EventId} ({c.EventType}) starts from held={c.Previous is not null}, the previous change left held={holds}");
                    }

                    if ((c.Previous is null) == (c.Current is null))
                    {
                        mismatches.Add($"benefit callbacks of {user}/{benefit.Type}: change {c.EventId} changes no hold");
                    }

                    if (c.Current is { } current && current.BenefitId != benefit.Id)
                    {
                        mismatches.Add($"benefit callbacks of {user}/{benefit.Type}: change {c.EventId} carries benefit {current.BenefitId}");
                    }

                    holds = c.Current is not null;
                }

                if (holds != held.Contains(benefit.Id))
                {
                    mismatches.Add($"benefit callbacks of {user}/{benefit.Type}: the last change left held={holds}, Polar grants it: {held.Contains(benefit.Id)}");
                }
            }
        }

        return mismatches;
    }

    private static string Format(object? timestamp) => timestamp switch
    {
        null => "",
        DateTime d => PolarPayloads.Format(new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc))),
        DateTimeOffset o => PolarPayloads.Format(o),
        _ => timestamp.ToString() ?? "",
    };

    private static int IntFromEnvironment(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static void Report(string line)
    {
        TestContext.Current.SendDiagnosticMessage(line);
        Console.WriteLine(line);
    }

    /// <summary>What the run did, printed at the end.</summary>
    private sealed class Figures
    {
        public int Events;
        public int Planned;
        public long Attempts;
        public long Acknowledged;
        public long Applied;
        public long Stale;
        public long DuplicateOutcomes;
        public long Retries;
        public long Status503;
        public long OtherNon2xx;
        public long Timeouts;
        public int Restarts;
        public int Mismatches;
        public int WatcherSamples;
        public int CallbackRuns;
        public int BenefitCallbackRuns;
        public int CallbackFailures;
        public int GrantEvents;
        public long BenefitReads;
        public TimeSpan Delivery;
        public TimeSpan Downtime;
        public TimeSpan Elapsed;

        public override string ToString() =>
            $"events={Events} (grants {GrantEvents}) deliveries={Planned} duplicates={Planned - Events} attempts={Attempts} acknowledged={Acknowledged} " +
            $"(applied={Applied} stale={Stale} duplicate={DuplicateOutcomes}) restarts={Restarts} retries={Retries} 503s={Status503} " +
            $"other-non-2xx={OtherNon2xx} timeouts={Timeouts} callbacks={CallbackRuns} benefit-callbacks={BenefitCallbackRuns} benefit-reads={BenefitReads} failed-callbacks={CallbackFailures} " +
            $"watcher-samples={WatcherSamples} mismatches={Mismatches} delivery={Delivery.TotalSeconds:F1}s (database down {Downtime.TotalSeconds:F1}s) elapsed={Elapsed.TotalSeconds:F1}s";
    }

    /// <summary>Delivers like Polar: a 2xx is done; anything else, or no answer in 10 s, is retried after a back-off.</summary>
    private sealed class PolarLikeSender(KavachTestApp[] apps, List<PlannedEvent> deliveries, int seed, Figures figures)
    {
        private readonly ConcurrentDictionary<string, int> _acknowledged = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, int> _firstOutcomes = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _violations = new();

        public IReadOnlyDictionary<string, int> Acknowledged => _acknowledged;

        /// <summary>An event applied (or found stale) more than once, or a 2xx that said something else than an outcome.</summary>
        public IEnumerable<string> Violations => _violations
            .Concat(_firstOutcomes.Where(kv => kv.Value > 1).Select(kv => $"webhook {kv.Key} was processed {kv.Value} times (not as a duplicate)"));

        public async Task RunAsync(int senders, CancellationToken ct)
        {
            var channel = Channel.CreateUnbounded<Delivery>();
            var outstanding = deliveries.Count;
            foreach (var d in deliveries)
            {
                channel.Writer.TryWrite(new Delivery(d));
            }

            var clients = apps.Select(app => new HttpClient { BaseAddress = app.BaseUrl, Timeout = TimeSpan.FromSeconds(10) }).ToArray();
            try
            {
                await Task.WhenAll(Enumerable.Range(0, senders).Select(i => Task.Run(() => SendLoopAsync(i), ct)));
            }
            finally
            {
                foreach (var c in clients)
                {
                    c.Dispose();
                }
            }

            async Task SendLoopAsync(int sender)
            {
                var rng = new Random(seed + sender);
                await foreach (var d in channel.Reader.ReadAllAsync(ct))
                {
                    var instance = rng.Next(apps.Length);
                    if (await TrySendAsync(apps[instance], clients[instance], d.Event, ct))
                    {
                        if (Interlocked.Decrement(ref outstanding) == 0)
                        {
                            channel.Writer.Complete();
                        }

                        continue;
                    }

                    Interlocked.Increment(ref figures.Retries);
                    d.Failures++;
                    var delay = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, d.Failures)) * (0.5 + (rng.NextDouble() / 2)));
                    _ = RequeueAfterAsync(channel.Writer, d, delay, ct);
                }
            }
        }

        private static async Task RequeueAfterAsync(ChannelWriter<Delivery> writer, Delivery d, TimeSpan delay, CancellationToken ct)
        {
            // The sender's backoff, as Polar's retries wait: the behaviour being simulated, not a wait for an event.
            await Task.Delay(delay, ct);
            writer.TryWrite(d);
        }

        /// <summary>One copy of an event on its way, retried until some attempt gets a 2xx.</summary>
        private sealed class Delivery(PlannedEvent e)
        {
            public PlannedEvent Event { get; } = e;

            public int Failures { get; set; }
        }

        private async Task<bool> TrySendAsync(KavachTestApp app, HttpClient client, PlannedEvent e, CancellationToken ct)
        {
            Interlocked.Increment(ref figures.Attempts);
            try
            {
                // A fresh webhook-timestamp and signature on every attempt, as Polar does.
                using var request = app.Signer.CreateRequest(app.WebhookUrl, e.Body, e.WebhookId);
                using var response = await client.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (!response.IsSuccessStatusCode)
                {
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref figures.Status503);
                        if (response.Headers.RetryAfter is null || !text.Contains("\"store_unavailable\"", StringComparison.Ordinal))
                        {
                            _violations.Enqueue($"a 503 without Retry-After or store_unavailable: {text}");
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref figures.OtherNon2xx);
                        _violations.Enqueue($"webhook {e.WebhookId} answered {(int)response.StatusCode}: {text}");
                    }

                    return false;
                }

                _acknowledged.AddOrUpdate(e.WebhookId, 1, (_, n) => n + 1);
                Interlocked.Increment(ref figures.Acknowledged);
                var outcome = (string?)JsonNode.Parse(text)?["outcome"];
                switch (outcome)
                {
                    case "duplicate":
                        Interlocked.Increment(ref figures.DuplicateOutcomes);
                        break;
                    case "applied":
                        Interlocked.Increment(ref figures.Applied);
                        _firstOutcomes.AddOrUpdate(e.WebhookId, 1, (_, n) => n + 1);
                        break;
                    case "stale":
                        Interlocked.Increment(ref figures.Stale);
                        _firstOutcomes.AddOrUpdate(e.WebhookId, 1, (_, n) => n + 1);
                        break;
                    default:
                        _violations.Enqueue($"webhook {e.WebhookId} acknowledged with outcome {outcome}");
                        break;
                }

                return true;
            }
            catch (Exception x) when (!ct.IsCancellationRequested && x is TaskCanceledException or HttpRequestException)
            {
                Interlocked.Increment(ref figures.Timeouts);
                return false;
            }
        }
    }

    /// <summary>Every successful OnSubscriptionChange and OnBenefitChange call of both instances, in the order they ran.</summary>
    private sealed class ChangeRecorder
    {
        private readonly ConcurrentQueue<(long Sequence, string Instance, KavachSubscriptionChange Change)> _calls = new();
        private readonly ConcurrentQueue<(long Sequence, KavachBenefitChange Change)> _benefitCalls = new();
        private long _sequence;
        private int _failures;

        public int Count => _calls.Count;

        public int BenefitCount => _benefitCalls.Count;

        public int Failures => _failures;

        public bool ShouldFail()
        {
            if (Random.Shared.NextDouble() >= 0.05)
            {
                return false;
            }

            Interlocked.Increment(ref _failures);
            return true;
        }

        public void Record(string instance, KavachSubscriptionChange change) =>
            _calls.Enqueue((Interlocked.Increment(ref _sequence), instance, change));

        public IEnumerable<KavachSubscriptionChange> InOrder() => _calls.OrderBy(c => c.Sequence).Select(c => c.Change);

        public void RecordBenefit(KavachBenefitChange change) =>
            _benefitCalls.Enqueue((Interlocked.Increment(ref _sequence), change));

        public IEnumerable<KavachBenefitChange> BenefitsInOrder() => _benefitCalls.OrderBy(c => c.Sequence).Select(c => c.Change);
    }

    /// <summary>
    /// Samples the store in consistent snapshots while deliveries run: no subscription or grant row may go
    /// back to an older version, and each kavach_users row must always be the projection of that
    /// user's subscription rows in the same snapshot (never half a transaction).
    /// </summary>
    private sealed class StoreWatcher(string connectionString)
    {
        private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "convergence-watcher" }.ConnectionString;
        private readonly Dictionary<string, (long Version, long Source)> _seen = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long Version, long Source)> _seenGrants = new(StringComparer.Ordinal);

        public List<string> Violations { get; } = [];

        public int Samples { get; private set; }

        public async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await SampleAsync(stop);
                    Samples++;
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException && !stop.IsCancellationRequested)
                {
                    // The database is down for a restart: the next sample will see it again.
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    // The sampler's pace, not a wait for an event.
                    await Task.Delay(50, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private async Task SampleAsync(CancellationToken ct)
        {
            await using var conn = new NpgsqlConnection(_connectionString);
            await conn.OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
            var subscriptions = new List<(string Id, string? UserId, string Status, string ProductId, DateTime? End, bool Cancel, long Created, long Version, long Source)>();
            await using (var cmd = new NpgsqlCommand("SELECT id, user_id, status, product_id, current_period_end, cancel_at_period_end, created_at_us, version_us, source_timestamp_us FROM kavach_polar_subscriptions", conn, tx))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    subscriptions.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetDateTime(4), reader.GetBoolean(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8)));
                }
            }

            var users = new List<(string Id, string? SubscriptionId, string? Status, string? ProductId, DateTime? End, bool Cancel)>();
            await using (var cmd = new NpgsqlCommand("SELECT id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_current_period_end, polar_cancel_at_period_end FROM kavach_users", conn, tx))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    users.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetDateTime(4), reader.GetBoolean(5)));
                }
            }

            var grants = new List<(string Id, long Version, long Source)>();
            await using (var cmd = new NpgsqlCommand("SELECT id, version_us, source_timestamp_us FROM kavach_polar_benefit_grants", conn, tx))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    grants.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
                }
            }

            await tx.CommitAsync(ct);

            foreach (var g in grants)
            {
                if (_seenGrants.TryGetValue(g.Id, out var seen) && (g.Version, g.Source).CompareTo(seen) < 0)
                {
                    Violations.Add($"grant {g.Id} went back from version {seen} to {(g.Version, g.Source)}");
                }

                _seenGrants[g.Id] = (g.Version, g.Source);
            }

            foreach (var s in subscriptions)
            {
                if (_seen.TryGetValue(s.Id, out var seen) && (s.Version, s.Source).CompareTo(seen) < 0)
                {
                    Violations.Add($"subscription {s.Id} went back from version {seen} to {(s.Version, s.Source)}");
                }

                _seen[s.Id] = (s.Version, s.Source);
            }

            var byUser = subscriptions.Where(s => s.UserId is not null).ToLookup(s => s.UserId!, StringComparer.Ordinal);
            foreach (var u in users)
            {
                var mine = byUser[u.Id].ToList();
                var current = mine
                    .Where(s => s.Status is "active" or "trialing" or "past_due" or "incomplete" or "paused")
                    .OrderBy(s => s.Status is "active" or "trialing" ? 0 : 1)
                    .ThenByDescending(s => s.Created)
                    .ThenBy(s => s.Id, StringComparer.Ordinal)
                    .Select(s => ((string?)s.Id, (string?)s.Status, (string?)s.ProductId, s.End, s.Cancel))
                    .FirstOrDefault();
                var expected = current.Item1 is not null
                    ? current
                    : (null, mine.OrderByDescending(s => (s.Version, s.Source)).Select(s => s.Status).FirstOrDefault(), null, null, false);
                if ((u.SubscriptionId, u.Status, u.ProductId, u.End, u.Cancel) != expected)
                {
                    Violations.Add($"kavach_users {u.Id} showed {(u.SubscriptionId, u.Status, u.ProductId, u.End, u.Cancel)} while its subscriptions projected to {expected}");
                }
            }
        }
    }
}
