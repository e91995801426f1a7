using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KavachPolar.Storage;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Endpoints;

public sealed class WebhookEndpointTests : AppTest
{
    [Fact]
    public async Task Subscription_created_makes_the_user_active_in_the_api_and_in_kavach_users()
    {
        var response = await App.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        using var user = App.ClientFor(ExampleExternalId);
        var json = await user.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct);
        var sub = json!["subscription"]!.AsObject();
        Assert.Equal(["id", "status", "productId", "currentPeriodEnd", "cancelAtPeriodEnd", "scheduledChange"], sub.Select(p => p.Key));
        Assert.Null(sub["scheduledChange"]);
        Assert.Equal(ExampleSubscriptionId, (string?)sub["id"]);
        Assert.Equal("active", (string?)sub["status"]);
        Assert.Equal(ExampleProductId, (string?)sub["productId"]);
        Assert.Equal("2026-11-01T09:16:48.730915+00:00", (string?)sub["currentPeriodEnd"]);
        Assert.False((bool)sub["cancelAtPeriodEnd"]!);

        var rows = await Db.QueryAsync("SELECT id, email, name, polar_customer_id, polar_subscription_id, polar_subscription_status, polar_product_id, polar_cancel_at_period_end FROM kavach_users", Ct);
        var row = Assert.Single(rows);
        Assert.Equal(ExampleExternalId, row["id"]);
        Assert.Equal("jane.doe@gmail.com", row["email"]);
        Assert.Equal("Jane Doe", row["name"]);
        Assert.Equal(ExampleCustomerId, row["polar_customer_id"]);
        Assert.Equal(ExampleSubscriptionId, row["polar_subscription_id"]);
        Assert.Equal("active", row["polar_subscription_status"]);
        Assert.Equal(ExampleProductId, row["polar_product_id"]);
        Assert.Equal(false, row["polar_cancel_at_period_end"]);
    }

    public static TheoryData<string, string?, bool> ExamplePayloads() => new()
    {
        // file, status GET shows afterwards (null: no live subscription), cancelAtPeriodEnd
        { "subscription.created.json", "active", false },
        { "subscription.active.json", "active", false },
        { "subscription.updated.json", "active", false },
        { "subscription.canceled.json", "active", true },
        { "subscription.uncanceled.json", "active", false },
        { "subscription.cycled.json", "active", false },
        { "subscription.past_due.json", "past_due", false },
        { "subscription.revoked.json", null, false },
    };

    [Theory]
    [MemberData(nameof(ExamplePayloads))]
    public async Task Each_example_subscription_event_is_applied_as_a_snapshot(string file, string? expectedStatus, bool cancelAtPeriodEnd)
    {
        var payload = Example(file);
        var response = await App.PostWebhookAsync(Compact(payload), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);

        var sub = await SubscriptionOfAsync((string)payload["data"]!["customer"]!["external_id"]!);
        if (expectedStatus is null)
        {
            Assert.Null(sub);
            var status = await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users", Ct);
            Assert.Equal("canceled", status);
            Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users WHERE polar_subscription_id IS NOT NULL OR polar_product_id IS NOT NULL OR polar_current_period_end IS NOT NULL OR polar_cancel_at_period_end", Ct));
        }
        else
        {
            Assert.NotNull(sub);
            Assert.Equal(expectedStatus, (string?)sub["status"]);
            Assert.Equal(cancelAtPeriodEnd, (bool)sub["cancelAtPeriodEnd"]!);
            Assert.Equal((string?)payload["data"]!["current_period_end"], PolarTimestamp(sub["currentPeriodEnd"]));
        }
    }

    [Fact]
    public async Task The_same_delivery_three_times_gives_one_change_and_one_callback()
    {
        var body = Compact(Example("subscription.created.json"));
        var id = Guid.NewGuid().ToString();
        var outcomes = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await App.PostWebhookAsync(body, id, ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            outcomes.Add((string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]!);
        }

        Assert.Equal(["applied", "duplicate", "duplicate"], outcomes);
        await KavachTestApp.EventuallyAsync(() => !App.Changes.IsEmpty);
        await Wait.ForOutboxToDrainAsync(Db, Ct); // a second callback would have been queued beside the first
        var change = Assert.Single(App.Changes);
        Assert.Equal(id, change.EventId);
        Assert.Equal("subscription.created", change.EventType);
        Assert.Null(change.Previous);
        Assert.Equal("active", change.Current!.Status);
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events", Ct));
    }

    [Fact]
    public async Task Concurrent_duplicates_apply_once()
    {
        var body = Compact(Example("subscription.created.json"));
        var id = Guid.NewGuid().ToString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => App.PostWebhookAsync(body, id, ct: Ct)));
        var outcomes = new List<string>();
        foreach (var r in responses)
        {
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            outcomes.Add((string)(await r.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]!);
        }

        Assert.Equal(1, outcomes.Count(o => o == "applied"));
        Assert.Equal(7, outcomes.Count(o => o == "duplicate"));
    }

    [Fact]
    public async Task Updated_before_created_keeps_the_newest_snapshot()
    {
        var updated = Subscription("subscription.updated", "8a5c2f4e-1d3b-4a6c-9e7f-0b1c2d3e4f50", cancelAtPeriodEnd: true, createdAt: T0, modifiedAt: T0.AddMinutes(5));
        var created = Subscription("subscription.created", "8a5c2f4e-1d3b-4a6c-9e7f-0b1c2d3e4f50", createdAt: T0);

        Assert.Equal("applied", await PostOutcomeAsync(updated));
        Assert.Equal("stale", await PostOutcomeAsync(created));

        var sub = await SubscriptionOfAsync(ExampleExternalId);
        Assert.True((bool)sub!["cancelAtPeriodEnd"]!);
    }

    [Fact]
    public async Task Revoked_before_active_leaves_the_user_without_a_subscription()
    {
        const string id = "0f6b3c1a-7e2d-4b59-8a41-3c5d6e7f8091";
        var revoked = Subscription("subscription.revoked", id, status: "canceled", createdAt: T0, modifiedAt: T0.AddDays(30));
        var active = Subscription("subscription.active", id, createdAt: T0);

        Assert.Equal("applied", await PostOutcomeAsync(revoked));
        Assert.Equal("stale", await PostOutcomeAsync(active));
        Assert.Null(await SubscriptionOfAsync(ExampleExternalId));
        Assert.Equal("canceled", await Db.ScalarAsync<string>("SELECT polar_subscription_status FROM kavach_users", Ct));
    }

    [Fact]
    public async Task Equal_versions_are_broken_by_the_event_timestamp()
    {
        const string id = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
        var newer = Subscription("subscription.updated", id, status: "past_due", createdAt: T0, modifiedAt: T0.AddDays(1), eventTimestamp: T0.AddDays(1).AddSeconds(2));
        var older = Subscription("subscription.updated", id, status: "active", createdAt: T0, modifiedAt: T0.AddDays(1), eventTimestamp: T0.AddDays(1).AddSeconds(1));
        Assert.Equal("applied", await PostOutcomeAsync(newer));
        Assert.Equal("stale", await PostOutcomeAsync(older));
        Assert.Equal("past_due", (string?)(await SubscriptionOfAsync(ExampleExternalId))!["status"]);
    }

    [Fact]
    public async Task Revoking_an_old_subscription_leaves_the_current_one_alone()
    {
        const string oldId = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
        const string newId = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e";
        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.created", oldId, createdAt: T0)));
        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.created", newId, createdAt: T0.AddDays(40))));
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count == 2);

        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.revoked", oldId, status: "canceled", createdAt: T0, modifiedAt: T0.AddDays(41))));

        Assert.Equal(newId, (string?)(await SubscriptionOfAsync(ExampleExternalId))!["id"]);
        await Wait.ForOutboxToDrainAsync(Db, Ct);
        Assert.Equal(2, App.Changes.Count); // the revoke of a subscription that was not current is no change
    }

    [Fact]
    public async Task A_user_with_two_subscriptions_sees_the_entitled_one_before_a_past_due_one()
    {
        const string entitled = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
        const string pastDue = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a";
        await PostOutcomeAsync(Subscription("subscription.created", entitled, createdAt: T0));
        await PostOutcomeAsync(Subscription("subscription.past_due", pastDue, status: "past_due", createdAt: T0.AddDays(3), modifiedAt: T0.AddDays(4)));
        Assert.Equal(entitled, (string?)(await SubscriptionOfAsync(ExampleExternalId))!["id"]);

        await PostOutcomeAsync(Subscription("subscription.revoked", entitled, status: "canceled", createdAt: T0, modifiedAt: T0.AddDays(5)));
        var sub = await SubscriptionOfAsync(ExampleExternalId);
        Assert.Equal(pastDue, (string?)sub!["id"]);
        Assert.Equal("past_due", (string?)sub["status"]);
        Assert.Equal(2L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_subscriptions WHERE user_id = '{ExampleExternalId}'", Ct));
    }

    [Fact]
    public async Task No_user_ever_sees_another_users_subscription()
    {
        await PostOutcomeAsync(Subscription("subscription.created", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", externalId: "alice", customerId: "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c"));
        await PostOutcomeAsync(Subscription("subscription.created", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", externalId: "bob", customerId: "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e", status: "trialing"));

        Assert.Equal("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", (string?)(await SubscriptionOfAsync("alice"))!["id"]);
        Assert.Equal("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", (string?)(await SubscriptionOfAsync("bob"))!["id"]);
        Assert.Null(await SubscriptionOfAsync("carol"));
    }

    [Fact]
    public async Task Checkout_metadata_gives_its_subscription_to_that_user_but_never_binds_the_customer()
    {
        // Changed with the attribution fix: this test used to expect the customer bound to dave, which let
        // metadata sweep up every other subscription of a customer Polar had reused by email.
        await PostOutcomeAsync(Subscription("subscription.created", "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", externalId: null, metadataUserId: "dave"));
        Assert.Equal("9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", (string?)(await SubscriptionOfAsync("dave"))!["id"]);
        Assert.Null(await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'dave'", Ct));
    }

    [Fact]
    public async Task An_orphan_stays_an_orphan_when_metadata_names_a_user_on_its_customer()
    {
        // Changed with the attribution fix: the orphan used to be swept up by erin, although nothing says it is hers.
        const string orphan = "0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a";
        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.created", orphan, externalId: null)));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        Assert.Equal(1L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_subscriptions WHERE id = '{orphan}' AND user_id IS NULL", Ct));

        await PostOutcomeAsync(Subscription("subscription.created", "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", externalId: null, metadataUserId: "erin", status: "past_due", createdAt: T0.AddDays(1)));
        var sub = await SubscriptionOfAsync("erin");
        Assert.Equal("1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", (string?)sub!["id"]);
        Assert.Equal(1L, await Db.ScalarAsync<long>($"SELECT count(*) FROM kavach_polar_subscriptions WHERE id = '{orphan}' AND user_id IS NULL", Ct));
    }

    [Fact]
    public async Task An_orphan_is_linked_when_an_event_whose_customer_external_id_is_the_user_binds_the_customer()
    {
        const string orphan = "0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3b";
        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.created", orphan, externalId: null)));

        // Polar now reports the customer's external id as erin (set in the dashboard, or by checkout): a trusted binding.
        await PostOutcomeAsync(Subscription("subscription.created", "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5c", externalId: "erin", status: "past_due", createdAt: T0.AddDays(1)));
        Assert.Equal(orphan, (string?)(await SubscriptionOfAsync("erin"))!["id"]); // entitled beats past_due
        Assert.Equal(ExampleCustomerId, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'erin'", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions WHERE user_id IS NULL", Ct));
    }

    [Fact]
    public async Task A_stranger_who_typed_the_victims_email_gets_their_own_subscription_and_the_victim_keeps_theirs()
    {
        // The victim's subscription, on the victim's customer (external id = victim).
        const string victims = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d";
        const string strangers = "3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e";
        await PostOutcomeAsync(Subscription("subscription.created", victims, externalId: "victim", metadataUserId: "victim", productId: "6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c", createdAt: T0));
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count == 1);

        // The stranger's checkout (metadata = stranger) was confirmed on the victim's customer, found by email.
        Assert.Equal("applied", await PostOutcomeAsync(Subscription("subscription.created", strangers, externalId: "victim", metadataUserId: "stranger", productId: ExampleProductId, createdAt: T0.AddDays(2))));

        Assert.Equal(victims, (string?)(await SubscriptionOfAsync("victim"))!["id"]);
        Assert.Equal(strangers, (string?)(await SubscriptionOfAsync("stranger"))!["id"]);
        Assert.Equal(ExampleCustomerId, await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'victim'", Ct));
        Assert.Null(await Db.ScalarAsync<string>("SELECT polar_customer_id FROM kavach_users WHERE id = 'stranger'", Ct));
        Assert.Contains(App.Logs.Lines, l => l.Contains("[2006]", StringComparison.Ordinal) && l.Contains(strangers, StringComparison.Ordinal));
        await KavachTestApp.EventuallyAsync(() => App.Changes.Count == 2);
        Assert.DoesNotContain(App.Changes, c => c.UserId == "victim" && c.Current?.Id == strangers);
    }

    [Fact]
    public async Task An_event_recorded_unprocessable_is_processed_again_when_polar_redelivers_it_and_replay_applies_the_others()
    {
        // As an earlier release would have left them: validly signed, recorded unprocessable, the raw body kept.
        var redelivered = (Id: Guid.NewGuid().ToString(), Body: Subscription("subscription.created", "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c91", externalId: "replay-1", customerId: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d01"));
        var replayed = (Id: Guid.NewGuid().ToString(), Body: Subscription("subscription.created", "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c92", externalId: "replay-2", customerId: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d02"));
        var hopeless = (Id: Guid.NewGuid().ToString(), Body: JsonNode.Parse("""{"type":"subscription.created","timestamp":"2026-10-01T09:16:48Z","data":{"id":""}}""")!);
        foreach (var (id, body) in new[] { redelivered, replayed, hopeless })
        {
            await Db.ScalarAsync<int>(
                $"INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at, payload, error) VALUES ('{id}', 'subscription.created', 'unprocessable', now(), $p${body.ToJsonString()}$p$, 'an older parser') RETURNING 1",
                Ct);
        }

        // A 503 at the database budget (a loaded machine) is Polar's cue to send the same delivery again; an attempt
        // that committed before its answer was lost makes the next one a duplicate, applied all the same.
        var (response, resent) = await Retry503.SendCountingAsync(() => App.PostWebhookAsync(Compact(redelivered.Body), redelivered.Id, ct: Ct), Ct);
        using var _ = response;
        var answer = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"the redelivery was answered {(int)response.StatusCode}: {answer}");
        var outcome = (string?)JsonNode.Parse(answer)!["outcome"];
        Assert.True(outcome == "applied" || (resent && outcome == "duplicate"), $"outcome {outcome}, resent after a 503: {resent}");
        Assert.Equal("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c91", (string?)(await SubscriptionOfAsync("replay-1"))!["id"]);
        Assert.Equal("duplicate", await PostOutcomeAsync(redelivered.Body, redelivered.Id));

        await using var scope = App.Services.CreateAsyncScope();
        var summary = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReplayUnprocessableAsync(Ct);

        Assert.Equal(1, summary.Replayed);
        Assert.Equal(1, summary.StillUnprocessable);
        Assert.Equal("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c92", (string?)(await SubscriptionOfAsync("replay-2"))!["id"]);
        Assert.Equal("applied", await Db.ScalarAsync<string>($"SELECT outcome FROM kavach_polar_webhook_events WHERE id = '{replayed.Id}'", Ct));
        Assert.Null(await Db.ScalarAsync<string>($"SELECT payload FROM kavach_polar_webhook_events WHERE id = '{replayed.Id}'", Ct));
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>($"SELECT outcome FROM kavach_polar_webhook_events WHERE id = '{hopeless.Id}'", Ct));
    }

    [Fact]
    public async Task Replay_reaches_rows_behind_more_than_a_hundred_that_stay_unprocessable()
    {
        // 150 older rows no release can read, then one it can: replay must get past the first hundred.
        await Db.ScalarAsync<int>(
            """
            INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at, payload, error)
            SELECT 'hopeless-' || lpad(i::text, 3, '0'), 'subscription.created', 'unprocessable', now() - interval '1 hour' + i * interval '1 second',
                   '{"type":"subscription.created","timestamp":"2026-10-01T09:16:48Z","data":{"id":""}}', 'an older parser'
            FROM generate_series(1, 150) AS i
            RETURNING 1
            """,
            Ct);
        var late = (Id: "zz-" + Guid.NewGuid(), Body: Subscription("subscription.created", "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c93", externalId: "replay-3", customerId: "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d03"));
        await Db.ScalarAsync<int>(
            $"INSERT INTO kavach_polar_webhook_events (id, event_type, outcome, received_at, payload, error) VALUES ('{late.Id}', 'subscription.created', 'unprocessable', now(), $p${late.Body.ToJsonString()}$p$, 'an older parser') RETURNING 1",
            Ct);

        await using var scope = App.Services.CreateAsyncScope();
        var summary = await scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>().ReplayUnprocessableAsync(Ct);

        Assert.Equal(1, summary.Replayed);
        Assert.Equal(150, summary.StillUnprocessable);
        Assert.Equal("applied", await Db.ScalarAsync<string>($"SELECT outcome FROM kavach_polar_webhook_events WHERE id = '{late.Id}'", Ct));
        Assert.Equal("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c93", (string?)(await SubscriptionOfAsync("replay-3"))!["id"]);
    }

    [Fact]
    public async Task Unknown_event_types_are_acknowledged_and_ignored()
    {
        var body = Encoding.UTF8.GetBytes("""{"type":"member.created","timestamp":"2026-10-01T09:16:48.801224Z","api_version":"2026-10","data":{"id":"x"}}""");
        var response = await App.PostWebhookAsync(body, ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("ignored", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
    }

    [Fact]
    public async Task Non_subscription_example_events_are_acknowledged_without_changing_users()
    {
        foreach (var file in new[] { "checkout.created.json", "checkout.updated.json", "customer.state_changed.json", "customer.state_changed.after_revoke.json" })
        {
            var response = await App.PostWebhookAsync(Compact(Example(file)), ct: Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        Assert.Equal(4L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events WHERE outcome = 'ignored'", Ct));
    }

    [Fact]
    public async Task Polars_example_order_paid_is_stored_for_the_user_its_customer_names()
    {
        var response = await App.PostWebhookAsync(Compact(Example("order.paid.json")), ct: Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        // A subscription's first order, whose customer's external id names the user (no kavach_user_id in its metadata).
        Assert.Equal("usr_1337|paid|subscription_create|usd", await Db.ScalarAsync<string>("SELECT user_id || '|' || status || '|' || billing_reason || '|' || currency FROM kavach_polar_orders", Ct));
        Assert.Equal(1L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users WHERE id = 'usr_1337'", Ct));
    }

    [Fact]
    public async Task A_signed_body_that_is_not_json_is_acknowledged_and_kept_raw()
    {
        var body = Encoding.UTF8.GetBytes("{\"type\":\"subscription.created\",\"data\":{oops");
        var response = await App.PostWebhookAsync(body, "a1b2c3d4-0000-4000-8000-000000000001", ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var row = Assert.Single(await Db.QueryAsync("SELECT outcome, payload, error FROM kavach_polar_webhook_events", Ct));
        Assert.Equal("unprocessable", row["outcome"]);
        Assert.Equal(Encoding.UTF8.GetString(body), row["payload"]);
        Assert.Contains(App.Logs.Lines, l => l.Contains("[2002]", StringComparison.Ordinal));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
    }

    [Fact]
    public async Task A_subscription_event_with_wrong_types_is_acknowledged_and_kept_raw()
    {
        var payload = Example("subscription.created.json");
        payload["data"]!["status"] = 42;
        var response = await App.PostWebhookAsync(Compact(payload), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("unprocessable", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
    }

    public static TheoryData<string> RefusedDeliveries() => new()
    {
        "tampered body", "wrong secret", "stale timestamp", "future timestamp", "missing webhook-id", "missing webhook-timestamp",
        "missing webhook-signature", "repeated webhook-id", "oversized body", "oversized chunked body", "garbage signature",
    };

    [Theory]
    [MemberData(nameof(RefusedDeliveries))]
    public async Task Refused_deliveries_get_a_4xx_and_write_nothing(string kind)
    {
        var body = Compact(Example("subscription.created.json"));
        var signer = App.Signer;
        var request = kind switch
        {
            "wrong secret" => new Testing.Webhooks.PolarWebhookSigner("whsec_some_other_secret").CreateRequest(App.WebhookUrl, body),
            "stale timestamp" => signer.CreateRequest(App.WebhookUrl, body, timestamp: DateTimeOffset.UtcNow.AddMinutes(-6)),
            "future timestamp" => signer.CreateRequest(App.WebhookUrl, body, timestamp: DateTimeOffset.UtcNow.AddMinutes(6)),
            "oversized body" => signer.CreateRequest(App.WebhookUrl, new byte[256 * 1024 + 1]),
            _ => signer.CreateRequest(App.WebhookUrl, body),
        };
        switch (kind)
        {
            case "tampered body":
                var tampered = (byte[])body.Clone();
                tampered[^3] ^= 1;
                request.Content = new ByteArrayContent(tampered);
                break;
            case "missing webhook-id":
            case "missing webhook-timestamp":
            case "missing webhook-signature":
                request.Headers.Remove(kind["missing ".Length..]);
                break;
            case "repeated webhook-id":
                request.Headers.TryAddWithoutValidation("webhook-id", Guid.NewGuid().ToString());
                break;
            case "garbage signature":
                request.Headers.Remove("webhook-signature");
                request.Headers.TryAddWithoutValidation("webhook-signature", "v1,AAAA v1,not-base64!!");
                break;
            case "oversized chunked body":
                request.Content = new StreamContent(new MemoryStream(new byte[300 * 1024]));
                request.Headers.TransferEncodingChunked = true;
                break;
        }

        var response = await App.Client.SendAsync(request, Ct);

        var expected = kind switch
        {
            "oversized body" or "oversized chunked body" => HttpStatusCode.RequestEntityTooLarge,
            "missing webhook-id" or "missing webhook-timestamp" or "missing webhook-signature" or "repeated webhook-id" => HttpStatusCode.BadRequest,
            _ => HttpStatusCode.Forbidden,
        };
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertNothingWrittenAsync();
    }

    [Fact]
    public async Task Events_of_another_organization_are_ignored_when_an_organization_is_configured()
    {
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:OrganizationId"] = ExampleOrganizationId } });
        var other = Subscription("subscription.created", "2f3a4b5c-6d7e-4f8a-9b0c-1d2e3f4a5b6c", organizationId: "3a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d");
        var response = await app.PostWebhookAsync(Compact(other), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("other_organization", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));

        var ours = await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct);
        Assert.Equal("applied", (string?)(await ours.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
    }

    private async Task AssertNothingWrittenAsync()
    {
        foreach (var table in new[] { "kavach_users", "kavach_polar_subscriptions", "kavach_polar_webhook_events", "kavach_polar_callbacks" })
        {
            Assert.Equal(0L, await Db.ScalarAsync<long>($"SELECT count(*) FROM {table}", Ct));
        }
    }

    private async Task<string> PostOutcomeAsync(JsonObject payload, string? webhookId = null)
    {
        var response = await App.PostWebhookAsync(Compact(payload), webhookId, ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]!;
    }

    private async Task<JsonObject?> SubscriptionOfAsync(string userId)
    {
        using var client = App.ClientFor(userId);
        var json = await client.GetFromJsonAsync<JsonObject>("api/kavach/auth/polar/subscription", Ct);
        Assert.True(json!.ContainsKey("subscription"));
        return json["subscription"]?.AsObject();
    }

    private static string PolarTimestamp(JsonNode? isoFromApi) =>
        Format(DateTimeOffset.Parse((string)isoFromApi!, System.Globalization.CultureInfo.InvariantCulture));
}
