using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Webhooks;

public sealed class WebhookDeliveryTests
{
    private static readonly string[] CustomerCreated = ["customer.created"];

    [Fact]
    public async Task A_500_is_retried_after_the_backoff_with_the_same_id_and_a_fresh_timestamp_and_signature()
    {
        await using var h = await Harness.StartAsync(
            o =>
            {
                o.TimeProvider = new SteppingTimeProvider(DateTimeOffset.UtcNow);
                o.WebhookRetryDelays.Clear();
                o.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(150));
                o.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(300));
            },
            events: CustomerCreated);
        h.Receiver.Respond = (n, _) => Task.FromResult(n < 2 ? 500 : 202);

        h.Emulator.CreateCustomer("retry@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        var received = h.Receiver.Received;
        Assert.Equal(3, received.Count);
        Assert.Single(received.Select(r => r.Id).Distinct());
        Assert.Single(received.Select(r => r.BodyText).Distinct());
        Assert.True(received[0].Timestamp < received[1].Timestamp && received[1].Timestamp < received[2].Timestamp);
        Assert.Equal(3, received.Select(r => r.Signature).Distinct().Count());
        Assert.All(received, r => Assert.True(Signatures.VerifyLegacy(r, h.Endpoint.Secret)));
        Assert.True(received[1].ReceivedAt - received[0].ReceivedAt >= TimeSpan.FromMilliseconds(140));
        Assert.True(received[2].ReceivedAt - received[1].ReceivedAt >= TimeSpan.FromMilliseconds(290));
        Assert.Equal([1, 2, 3], h.Emulator.Deliveries.Select(d => d.Attempt));
        Assert.Equal([500, 500, 202], h.Emulator.Deliveries.Select(d => d.StatusCode!.Value));
        Assert.Equal(EmulatorWebhookEventStatus.Succeeded, h.Emulator.Events.Single().Status);
    }

    [Fact]
    public async Task A_redirect_counts_as_a_failure_and_is_not_followed()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 2, events: CustomerCreated);
        h.Receiver.Respond = (_, _) => Task.FromResult(302);

        h.Emulator.CreateCustomer("redirect@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal([302, 302], h.Emulator.Deliveries.Select(d => d.StatusCode!.Value));
        Assert.All(h.Receiver.Received, r => Assert.Equal("/webhook", r.Path));
        Assert.Equal(EmulatorWebhookEventStatus.Failed, h.Emulator.Events.Single().Status);
    }

    [Fact]
    public async Task A_receiver_slower_than_the_timeout_fails_the_attempt_and_is_retried()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookTimeout = TimeSpan.FromMilliseconds(300), events: CustomerCreated);
        h.Receiver.Respond = async (n, _) =>
        {
            if (n == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            }

            return 200;
        };

        h.Emulator.CreateCustomer("slow@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        var deliveries = h.Emulator.Deliveries;
        Assert.Equal(2, deliveries.Count);
        Assert.Null(deliveries[0].StatusCode);
        Assert.Contains("timed out", deliveries[0].Error, StringComparison.Ordinal);
        Assert.InRange(deliveries[0].CompletedAt - deliveries[0].StartedAt, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        Assert.Equal(200, deliveries[1].StatusCode);
    }

    [Fact]
    public async Task An_event_is_marked_failed_after_the_maximum_number_of_attempts()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 4, events: CustomerCreated);
        h.Receiver.Respond = (_, _) => Task.FromResult(503);

        h.Emulator.CreateCustomer("down@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(4, h.Receiver.Received.Count);
        Assert.Equal([1, 2, 3, 4], h.Emulator.Deliveries.Select(d => d.Attempt));
        Assert.Equal(EmulatorWebhookEventStatus.Failed, h.Emulator.Events.Single().Status);
        Assert.True(h.Endpoint.Enabled);
    }

    [Fact]
    public async Task An_endpoint_is_disabled_once_its_ten_most_recent_events_all_failed()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 1);
        h.Receiver.Respond = (_, _) => Task.FromResult(500);

        for (var i = 0; i < 4; i++)
        {
            h.Emulator.CreateCustomer($"user{i}@gmail.com");
        }

        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var enabledAfterEight = h.Endpoint.Enabled;
        h.Emulator.CreateCustomer("user4@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        h.Emulator.CreateCustomer("user5@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.True(enabledAfterEight);
        Assert.False(h.Endpoint.Enabled);
        Assert.Equal(10, h.Emulator.Events.Count);
        Assert.Equal(10, h.Receiver.Received.Count);
    }

    [Fact]
    public async Task Only_completed_events_count_towards_disabling_and_a_success_among_the_last_ten_keeps_the_endpoint()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 1, events: CustomerCreated);
        h.Receiver.Respond = (_, r) => Task.FromResult(r.BodyText.Contains("\"ok@gmail.com\"", StringComparison.Ordinal) ? 200 : 500);
        async Task FailAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                h.Emulator.CreateCustomer($"fail{Guid.NewGuid():N}@gmail.com");
                await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
            }
        }

        await FailAsync(5);
        h.Emulator.CreateCustomer("ok@gmail.com");
        await FailAsync(9);
        var enabledWithASuccessInTheLastTen = h.Endpoint.Enabled;
        h.Emulator.HoldDeliveries();
        h.Emulator.CreateCustomer("never.sent@gmail.com");
        h.Emulator.ReleaseDeliveries(_ => []);
        await FailAsync(1);

        Assert.True(enabledWithASuccessInTheLastTen);
        Assert.False(h.Endpoint.Enabled);
        Assert.Equal(EmulatorWebhookEventStatus.Skipped, h.Emulator.Events[^2].Status);
        Assert.Equal(16, h.Receiver.Received.Count);
    }

    [Fact]
    public async Task A_disabled_endpoint_is_skipped_at_the_next_retry_too()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 5, events: CustomerCreated);
        h.Receiver.Respond = (_, _) =>
        {
            h.Emulator.EnableWebhookEndpoint(h.Endpoint.Id, enabled: false);
            return Task.FromResult(500);
        };

        h.Emulator.CreateCustomer("half.way@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Single(h.Receiver.Received);
        Assert.Equal([1], h.Emulator.Deliveries.Select(d => d.Attempt));
        var evt = h.Emulator.Events.Single();
        Assert.Equal(EmulatorWebhookEventStatus.Skipped, evt.Status);
        Assert.Equal(1, evt.Attempts);
    }

    [Fact]
    public async Task A_redelivery_continues_the_attempt_count_so_a_spent_event_gets_one_more_attempt()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 3, events: CustomerCreated);
        h.Receiver.Respond = (_, _) => Task.FromResult(503);
        h.Emulator.CreateCustomer("spent@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var evt = h.Emulator.Events.Single();

        await h.Emulator.RedeliverAsync(evt.EventId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        h.Receiver.Respond = (_, _) => Task.FromResult(204);
        await h.Emulator.RedeliverAsync(evt.EventId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal([1, 2, 3, 4, 5], h.Emulator.Deliveries.Select(d => d.Attempt));
        Assert.Equal([503, 503, 503, 503, 204], h.Emulator.Deliveries.Select(d => d.StatusCode!.Value));
        Assert.Equal(EmulatorWebhookEventStatus.Succeeded, evt.Status);
        Assert.Equal(5, evt.Attempts);
    }

    [Fact]
    public async Task A_failed_redelivery_of_a_delivered_event_leaves_it_succeeded_and_does_not_count_as_a_failure()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 1, events: CustomerCreated);
        h.Emulator.CreateCustomer("delivered@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var delivered = h.Emulator.Events.Single();
        h.Receiver.Respond = (_, _) => Task.FromResult(500);
        for (var i = 0; i < 9; i++)
        {
            h.Emulator.CreateCustomer($"failing{i}@gmail.com");
            await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        }

        await h.Emulator.RedeliverAsync(delivered.EventId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(EmulatorWebhookEventStatus.Succeeded, delivered.Status);
        Assert.Equal(2, delivered.Attempts);
        Assert.True(h.Endpoint.Enabled);
    }

    [Fact]
    public async Task Without_configured_delays_retries_follow_polars_jittered_exponential_backoff()
    {
        var clock = new RecordingTimeProvider();
        await using var h = await Harness.StartAsync(
            o =>
            {
                o.WebhookRetryDelays.Clear();
                o.TimeProvider = clock;
            },
            events: CustomerCreated);
        h.Receiver.Respond = (_, _) => Task.FromResult(500);

        h.Emulator.CreateCustomer("backoff@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(10, h.Emulator.Deliveries.Count);
        var delays = clock.Requested;
        Assert.Equal(9, delays.Count);
        static double Full(int n) => Math.Min(2000 * Math.Pow(2, n), 20 * 60 * 1000);
        for (var n = 1; n <= 9; n++)
        {
            Assert.InRange(delays[n - 1].TotalMilliseconds, Full(n) / 2, Full(n));
        }

        // Jitter: not every delay sits at the top of its range.
        Assert.Contains(Enumerable.Range(1, 9), n => delays[n - 1].TotalMilliseconds < Full(n) - 1);
    }

    [Fact]
    public async Task Configured_delays_are_used_exactly_and_the_last_one_repeats()
    {
        var clock = new RecordingTimeProvider();
        await using var h = await Harness.StartAsync(
            o =>
            {
                o.TimeProvider = clock;
                o.WebhookMaxAttempts = 4;
                o.WebhookRetryDelays.Clear();
                o.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(7));
                o.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(11));
            },
            events: CustomerCreated);
        h.Receiver.Respond = (_, _) => Task.FromResult(500);

        h.Emulator.CreateCustomer("fixed@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal([TimeSpan.FromMilliseconds(7), TimeSpan.FromMilliseconds(11), TimeSpan.FromMilliseconds(11)], clock.Requested);
    }

    [Fact]
    public async Task A_re_enabled_endpoint_receives_new_events_again()
    {
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 1);
        h.Receiver.Respond = (_, _) => Task.FromResult(500);
        for (var i = 0; i < 5; i++)
        {
            h.Emulator.CreateCustomer($"user{i}@gmail.com");
        }

        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        h.Receiver.Respond = (_, _) => Task.FromResult(200);

        h.Emulator.EnableWebhookEndpoint(h.Endpoint.Id);
        h.Emulator.CreateCustomer("back@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.True(h.Endpoint.Enabled);
        Assert.Equal(["customer.created", "customer.state_changed"], h.ReceivedTypes(10));
    }

    [Fact]
    public async Task An_endpoint_receives_only_the_event_types_it_subscribed_to()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.created", "subscription.revoked"]);
        var result = await h.SubscribeAsync();

        await h.Emulator.RevokeSubscriptionAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.created", "subscription.revoked"], h.ReceivedTypes());
    }

    [Fact]
    public async Task Each_endpoint_gets_its_own_webhook_id_for_the_same_occurrence()
    {
        await using var h = await Harness.StartAsync(events: CustomerCreated);
        await using var second = await WebhookReceiver.StartAsync(TestContext.Current.CancellationToken);
        var endpoint = h.Emulator.AddWebhookEndpoint(second.Url, events: CustomerCreated);

        h.Emulator.CreateCustomer("twice@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        var a = Assert.Single(h.Receiver.Received);
        var b = Assert.Single(second.Received);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(a.BodyText, b.BodyText);
        Assert.True(Signatures.VerifyLegacy(b, endpoint.Secret));
    }

    [Fact]
    public async Task Redelivery_sends_the_same_webhook_id_and_body_with_a_new_signature()
    {
        await using var h = await Harness.StartAsync(events: CustomerCreated);
        h.Emulator.CreateCustomer("again@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        var original = Assert.Single(h.Receiver.Received);

        await h.Emulator.RedeliverAsync(original.Id, TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, h.Receiver.Received.Count);
        Assert.Equal(original.Id, h.Receiver.Received[1].Id);
        Assert.Equal(original.BodyText, h.Receiver.Received[1].BodyText);
        Assert.True(Signatures.VerifyLegacy(h.Receiver.Received[1], h.Endpoint.Secret));
        Assert.Equal([1, 2], h.Emulator.Deliveries.Select(d => d.Attempt));
    }

    [Fact]
    public async Task Held_events_are_delivered_in_the_chosen_order_with_duplicates()
    {
        await using var h = await Harness.StartAsync(events: ["subscription.created", "subscription.active", "subscription.updated"]);
        h.Emulator.HoldDeliveries();
        await h.SubscribeAsync();
        Assert.Empty(h.Receiver.Received);
        Assert.Equal(3, h.Emulator.HeldEvents.Count);

        h.Emulator.ReleaseDeliveries(held => [held[2], held[1], held[0], held[0]]);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["subscription.updated", "subscription.active", "subscription.created", "subscription.created"], h.ReceivedTypes());
        Assert.Equal(h.Receiver.Received[2].Id, h.Receiver.Received[3].Id);
    }

    [Fact]
    public async Task Events_left_out_of_a_release_are_dropped()
    {
        await using var h = await Harness.StartAsync(events: CustomerCreated);
        h.Emulator.HoldDeliveries();
        h.Emulator.CreateCustomer("lost@gmail.com");

        h.Emulator.ReleaseDeliveries(_ => []);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Empty(h.Receiver.Received);
        Assert.Equal(EmulatorWebhookEventStatus.Skipped, h.Emulator.Events.Single().Status);
    }

    [Fact]
    public async Task Envelope_timestamps_increase_in_emission_order()
    {
        await using var h = await Harness.StartAsync();

        await h.SubscribeAsync();

        var stamps = h.Receiver.Received.Select(r => JsonNode.Parse(r.Body)!["timestamp"]!.GetValue<string>())
            .Select(t => DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(stamps.Order(), stamps);
        Assert.Equal(stamps.Count, stamps.Distinct().Count());
    }

    [Fact]
    public async Task A_generated_legacy_secret_has_polars_token_form_and_signs_with_its_utf8_bytes()
    {
        await using var h = await Harness.StartAsync(events: CustomerCreated);

        h.Emulator.CreateCustomer("legacy@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Matches("^whsec_[A-Za-z0-9]{43}$", h.Endpoint.Secret);
        Assert.True(Signatures.VerifyLegacy(Assert.Single(h.Receiver.Received), h.Endpoint.Secret));
    }

    [Fact]
    public async Task An_unreachable_endpoint_records_the_connection_error_on_every_attempt()
    {
        var closed = await WebhookReceiver.StartAsync(TestContext.Current.CancellationToken);
        var url = closed.Url;
        await closed.DisposeAsync();
        await using var h = await Harness.StartAsync(o => o.WebhookMaxAttempts = 2, events: ["order.paid"]);
        h.Emulator.AddWebhookEndpoint(url, events: CustomerCreated);

        h.Emulator.CreateCustomer("nobody.home@gmail.com");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, h.Emulator.Deliveries.Count);
        Assert.All(h.Emulator.Deliveries, d => Assert.Null(d.StatusCode));
        Assert.All(h.Emulator.Deliveries, d => Assert.False(string.IsNullOrEmpty(d.Error)));
        Assert.Equal(EmulatorWebhookEventStatus.Failed, h.Emulator.Events.Single().Status);
    }

    [Fact]
    public async Task Subscribing_an_endpoint_to_an_event_type_polar_does_not_have_is_refused()
    {
        await using var emulator = await PolarEmulator.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var e = Assert.Throws<ArgumentException>(() => emulator.AddWebhookEndpoint(new Uri("http://127.0.0.1:9/"), events: ["subscription.created", "subscription.cancelled"]));

        Assert.Contains("subscription.cancelled", e.Message, StringComparison.Ordinal);
        Assert.Empty(emulator.WebhookEndpoints);
    }
}
