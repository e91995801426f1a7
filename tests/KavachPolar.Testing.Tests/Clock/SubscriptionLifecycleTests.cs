using System.Globalization;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Clock;

/// <summary>
/// How Polar's subscription service changes a subscription's fields and which webhooks it sends, in order
/// (<c>subscription.updated</c> first, then the specific events), driven by the controllable clock.
/// </summary>
public sealed class SubscriptionLifecycleTests
{
    /// <summary>The demo Pro product's three benefits: each grant change of a Pro subscription is three events.</summary>
    private static string[] Pro(string change) => [$"benefit_grant.{change}", $"benefit_grant.{change}", $"benefit_grant.{change}"];

    /// <summary>The demo Pro Trial product's two benefits.</summary>
    private static string[] Trial(string change) => [$"benefit_grant.{change}", $"benefit_grant.{change}"];

    private static DateTimeOffset Date(JsonNode? node) => DateTimeOffset.Parse(node!.GetValue<string>(), CultureInfo.InvariantCulture);

    private static JsonNode Data(ReceivedWebhook webhook) => JsonNode.Parse(webhook.Body)!["data"]!;

    [Fact]
    public async Task A_renewal_sends_cycled_updated_and_a_paid_cycle_order_and_moves_the_period()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var before = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        var seen = h.Receiver.Received.Count;

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(31), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.cycled", "subscription.updated", "order.created", "order.updated", "order.paid", .. Pro("cycled"), "customer.state_changed"], h.ReceivedTypes(seen));
        var cycled = Data(h.Receiver.Received[seen]);
        Assert.Equal("active", cycled["status"]!.GetValue<string>());
        Assert.Equal(Date(before["current_period_end"]), Date(cycled["current_period_start"]));
        Assert.Equal(Date(before["current_period_end"]).AddMonths(1), Date(cycled["current_period_end"]));
        Assert.NotNull(cycled["modified_at"]);
        var created = Data(h.Receiver.Received[seen + 2]);
        Assert.Equal("subscription_cycle", created["billing_reason"]!.GetValue<string>());
        Assert.Equal("pending", created["status"]!.GetValue<string>());
        var paid = Data(h.Receiver.Received[seen + 4]);
        Assert.Equal("paid", paid["status"]!.GetValue<string>());
        Assert.Equal(1900, paid["total_amount"]!.GetValue<long>());
        Assert.Equal(result.SubscriptionId, paid["subscription_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Advancing_over_several_periods_renews_once_per_period_each_at_its_own_time()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.cycled"]);
        var result = await h.SubscribeAsync();
        var start = Date(JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["current_period_start"]);

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(95), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3, h.Receiver.Received.Count);
        var envelopeTimes = h.Receiver.Received.Select(r => Date(JsonNode.Parse(r.Body)!["timestamp"])).ToList();
        Assert.Equal([start.AddMonths(1), start.AddMonths(2), start.AddMonths(3)], envelopeTimes);
    }

    [Fact]
    public async Task Webhook_timestamps_follow_the_transport_clock_when_the_business_clock_is_advanced()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.cycled"]);
        await h.SubscribeAsync();

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(31), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        var webhook = Assert.Single(h.Receiver.Received);
        Assert.InRange(webhook.Timestamp, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.True(Date(JsonNode.Parse(webhook.Body)!["timestamp"]) > DateTimeOffset.UtcNow.AddDays(29));
    }

    [Fact]
    public async Task A_trial_converts_at_its_end_with_cycled_and_updated_but_no_active()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync(productId: h.Trial.Id);
        var seen = h.Receiver.Received.Count;

        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(15), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        var types = h.ReceivedTypes(seen);
        Assert.Equal(["subscription.cycled", "subscription.updated"], types.Take(2));
        Assert.DoesNotContain("subscription.active", types);
        var updated = Data(h.Receiver.Received[seen + 1]);
        Assert.Equal("active", updated["status"]!.GetValue<string>());
        Assert.Equal(Date(updated["trial_end"]), Date(updated["current_period_start"]));
        Assert.Equal("active", JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Canceling_at_period_end_keeps_access_and_the_period_end_revokes_with_a_second_canceled()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        await h.Emulator.CancelSubscriptionAsync(result.SubscriptionId, cancellationToken: TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var canceled = Data(h.Receiver.Received[seen + 1]);
        var afterCancel = h.Receiver.Received.Count;
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.updated", "subscription.canceled", "customer.state_changed"], h.ReceivedTypes(seen).Take(3));
        Assert.Equal("active", canceled["status"]!.GetValue<string>());
        Assert.True(canceled["cancel_at_period_end"]!.GetValue<bool>());
        Assert.NotNull(canceled["canceled_at"]);
        Assert.Equal(canceled["current_period_end"]!.GetValue<string>(), canceled["ends_at"]!.GetValue<string>());
        Assert.Equal(["subscription.updated", "subscription.canceled", "subscription.revoked", .. Pro("revoked"), "customer.state_changed"], h.ReceivedTypes(afterCancel));
        var revoked = Data(h.Receiver.Received[afterCancel + 2]);
        Assert.Equal("canceled", revoked["status"]!.GetValue<string>());
        Assert.Equal(canceled["ends_at"]!.GetValue<string>(), revoked["ends_at"]!.GetValue<string>());
        Assert.Equal(canceled["current_period_end"]!.GetValue<string>(), revoked["current_period_end"]!.GetValue<string>());
        Assert.Equal(Date(revoked["ends_at"]), Date(revoked["ended_at"]));
        Assert.Empty(Data(h.Receiver.Received[^1])["active_subscriptions"]!.AsArray());
    }

    [Fact]
    public async Task Uncanceling_clears_the_cancellation_and_the_subscription_renews()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true,\"customer_cancellation_reason\":\"too_expensive\"}");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var seen = h.Receiver.Received.Count;

        await h.Emulator.UncancelSubscriptionAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(31), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.updated", "subscription.uncanceled", "customer.state_changed", "subscription.cycled"], h.ReceivedTypes(seen).Take(4));
        var uncanceled = Data(h.Receiver.Received[seen + 1]);
        Assert.False(uncanceled["cancel_at_period_end"]!.GetValue<bool>());
        Assert.Null(uncanceled["canceled_at"]);
        Assert.Null(uncanceled["ends_at"]);
        Assert.Null(uncanceled["customer_cancellation_reason"]);
    }

    [Fact]
    public async Task Revoking_now_sends_updated_canceled_and_revoked_with_every_end_date_now()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.DeleteAsync($"v1/subscriptions/{result.SubscriptionId}");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, response.Status);
        Assert.Equal("canceled", response["status"]);
        Assert.Equal(response["canceled_at"], response["ended_at"]);
        Assert.Equal(response["ends_at"], response["ended_at"]);
        Assert.False(response.Json["cancel_at_period_end"]!.GetValue<bool>());
        Assert.Equal(["subscription.updated", "subscription.canceled", "subscription.revoked", .. Pro("revoked"), "customer.state_changed"], h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task A_failed_renewal_advances_the_period_first_then_makes_the_subscription_past_due_and_recovery_pays_the_order()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var before = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        var seen = h.Receiver.Received.Count;

        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var afterFailure = h.Receiver.Received.Count;
        var cycled = Data(h.Receiver.Received[seen]);
        var order = Data(h.Receiver.Received[seen + 2]);
        var pastDue = Data(h.Receiver.Received[seen + 4]);
        var pendingOrder = await h.Http.GetAsync($"v1/orders/{order["id"]}");
        await h.Emulator.RecoverRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.cycled", "subscription.updated", "order.created", "subscription.updated", "subscription.past_due", .. Pro("revoked"), "customer.state_changed"], h.ReceivedTypes(seen).Take(afterFailure - seen));
        Assert.Equal("active", cycled["status"]!.GetValue<string>());
        Assert.Equal(Date(before["current_period_end"]), Date(cycled["current_period_start"]));
        Assert.Equal("pending", order["status"]!.GetValue<string>());
        Assert.Equal("subscription_cycle", order["billing_reason"]!.GetValue<string>());
        Assert.Equal("past_due", pastDue["status"]!.GetValue<string>());
        Assert.Equal(Date(before["current_period_end"]), Date(pastDue["past_due_at"]));
        Assert.Equal(Date(cycled["current_period_end"]), Date(pastDue["current_period_end"]));
        Assert.Equal(Date(pastDue["past_due_at"]).AddDays(2), Date(pendingOrder.Json["next_payment_attempt_at"]));
        Assert.Equal(["subscription.updated", "subscription.active", "order.updated", "order.paid", .. Pro("created"), "customer.state_changed"], h.ReceivedTypes(afterFailure));
        var recovered = Data(h.Receiver.Received[afterFailure + 1]);
        Assert.Equal("active", recovered["status"]!.GetValue<string>());
        Assert.Null(recovered["past_due_at"]);
        var paid = Data(h.Receiver.Received[afterFailure + 3]);
        Assert.Equal(order["id"]!.GetValue<string>(), paid["id"]!.GetValue<string>());
        Assert.Null(paid["next_payment_attempt_at"]);
    }

    [Fact]
    public async Task Dunning_retries_after_2_5_7_and_7_days_then_revokes_and_voids_the_order()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var orderId = Data(h.Receiver.Received.Last(r => r.Type == "order.created"))["id"]!.GetValue<string>();
        var failedAt = Date(JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["past_due_at"]);
        var seen = h.Receiver.Received.Count;
        var nextAttempts = new List<DateTimeOffset>();
        foreach (var day in new[] { 0, 2, 7, 14 })
        {
            await h.Emulator.AdvanceTimeAsync(failedAt.AddDays(day).AddMinutes(1) - h.Emulator.UtcNow, TestContext.Current.CancellationToken);
            nextAttempts.Add(Date((await h.Http.GetAsync($"v1/orders/{orderId}")).Json["next_payment_attempt_at"]));
        }

        await h.Emulator.AdvanceTimeAsync(failedAt.AddDays(21).AddMinutes(-2) - h.Emulator.UtcNow, TestContext.Current.CancellationToken);
        var stillPastDue = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["status"]!.GetValue<string>();
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var silentWhileRetrying = h.ReceivedTypes(seen);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal([failedAt.AddDays(2), failedAt.AddDays(7), failedAt.AddDays(14), failedAt.AddDays(21)], nextAttempts);
        Assert.Equal("past_due", stillPastDue);
        Assert.Empty(silentWhileRetrying);
        Assert.Equal(["subscription.updated", "subscription.canceled", "subscription.revoked", "customer.state_changed", "order.updated"], h.ReceivedTypes(seen));
        var revoked = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        Assert.Equal("canceled", revoked["status"]!.GetValue<string>());
        Assert.Equal(failedAt.AddDays(21), Date(revoked["ended_at"]));
        var voided = await h.Http.GetAsync($"v1/orders/{orderId}");
        Assert.Equal("void", voided["status"]);
        Assert.Null(voided.Json["next_payment_attempt_at"]);
    }

    [Fact]
    public async Task A_dunning_retry_that_goes_through_makes_the_subscription_active_at_its_scheduled_time()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var seen = h.Receiver.Received.Count;

        h.Emulator.DeclinePayments(result.SubscriptionId, declined: false);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(1), TestContext.Current.CancellationToken);
        var afterOneDay = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["status"]!.GetValue<string>();
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(1), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal("past_due", afterOneDay);
        Assert.Equal(["subscription.updated", "subscription.active", "order.updated", "order.paid", .. Pro("created"), "customer.state_changed"], h.ReceivedTypes(seen));
        Assert.Equal("active", JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_trial_whose_first_charge_fails_converts_and_then_becomes_past_due()
    {
        await using var h = await Harness.StartAsync();
        var trial = await h.SubscribeAsync(productId: h.Trial.Id);
        var seen = h.Receiver.Received.Count;

        await h.Emulator.FailRenewalAsync(trial.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.cycled", "subscription.updated", "order.created", "subscription.updated", "subscription.past_due", .. Trial("revoked"), "customer.state_changed"], h.ReceivedTypes(seen));
        Assert.Equal("active", Data(h.Receiver.Received[seen])["status"]!.GetValue<string>());
        Assert.Equal(1900, Data(h.Receiver.Received[seen + 2])["total_amount"]!.GetValue<long>());
        Assert.Equal("past_due", Data(h.Receiver.Received[seen + 4])["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Revoking_a_past_due_subscription_voids_its_pending_order()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var seen = h.Receiver.Received.Count;

        Assert.Equal(200, (await h.Http.DeleteAsync($"v1/subscriptions/{result.SubscriptionId}")).Status);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(30), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.updated", "subscription.canceled", "subscription.revoked", "customer.state_changed", "order.updated"], h.ReceivedTypes(seen));
        Assert.Equal("void", Data(h.Receiver.Received[^1])["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_renewal_cannot_fail_when_nothing_is_charged_at_period_end()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true}")).Status);
        var now = h.Emulator.UtcNow;

        var e = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken));

        Assert.Equal(403, e.StatusCode);
        Assert.True(h.Emulator.UtcNow - now < TimeSpan.FromDays(1));
    }

    [Fact]
    public async Task Control_calls_refuse_what_polar_refuses()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Emulator.RevokeSubscriptionAsync(result.SubscriptionId, TestContext.Current.CancellationToken);

        var cancel = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.CancelSubscriptionAsync(result.SubscriptionId, cancellationToken: TestContext.Current.CancellationToken));
        var unknown = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.FailRenewalAsync(Guid.NewGuid().ToString(), TestContext.Current.CancellationToken));

        Assert.Equal(403, cancel.StatusCode);
        Assert.Equal(404, unknown.StatusCode);
    }

    [Fact]
    public async Task A_scheduled_pause_takes_effect_at_period_end_and_resuming_starts_a_billed_period()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var scheduled = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"pause_at_period_end\":true}");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(31), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var paused = Data(h.Receiver.Received[seen + 3]);
        var beforeResume = h.Receiver.Received.Count;
        var resumed = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"resume\":true}");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, scheduled.Status);
        Assert.True(scheduled.Json["pause_at_period_end"]!.GetValue<bool>());
        Assert.Equal(["subscription.updated", "customer.state_changed", "subscription.updated", "subscription.paused", .. Pro("revoked"), "customer.state_changed"], h.ReceivedTypes(seen).Take(8));
        Assert.Equal("paused", paused["status"]!.GetValue<string>());
        Assert.NotNull(paused["paused_at"]);
        Assert.False(paused["pause_at_period_end"]!.GetValue<bool>());
        Assert.Equal(200, resumed.Status);
        Assert.Equal("active", resumed["status"]);
        Assert.Equal(["subscription.updated", "subscription.resumed", "order.created", "order.updated", "order.paid", .. Pro("created"), "customer.state_changed"], h.ReceivedTypes(beforeResume));
    }

    [Fact]
    public async Task A_pause_with_a_resume_date_resumes_by_itself_when_the_clock_passes_it()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.paused", "subscription.resumed"]);
        var result = await h.SubscribeAsync();
        var periodEnd = Date(JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["current_period_end"]);
        var resumesAt = periodEnd.AddDays(10).ToString("O", CultureInfo.InvariantCulture);

        await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", $"{{\"pause_at_period_end\":true,\"resumes_at\":\"{resumesAt}\"}}");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(45), TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.paused", "subscription.resumed"], h.ReceivedTypes());
        var subscription = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        Assert.Equal("active", subscription["status"]!.GetValue<string>());
        Assert.Equal(periodEnd.AddDays(10), Date(subscription["current_period_start"]));
    }

    [Fact]
    public async Task Resuming_a_subscription_that_is_not_paused_is_refused()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"resume\":true}");

        Assert.Equal(403, response.Status);
    }
}
