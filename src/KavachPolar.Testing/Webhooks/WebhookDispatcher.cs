using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Webhooks;

/// <summary>
/// Delivers events as Polar's webhook tasks do (https://github.com/polarsource/polar/blob/main/server/polar/webhook/tasks.py
/// and <c>webhook/service.py</c>): one event row per endpoint with its own <c>webhook-id</c>, first attempts in order per
/// endpoint, retries with backoff that are not ordered, success on 2xx only, no redirects followed, a per-attempt
/// timeout. An event's attempts are counted over its whole life, redeliveries included. When an event fails for good,
/// the endpoint is disabled if its 10 most recent completed events (succeeded or failed) all failed; a disabled
/// endpoint's events are skipped at every attempt, retries included.
/// </summary>
internal sealed class WebhookDispatcher : IAsyncDisposable
{
    /// <summary>The API version of every payload; endpoints default to Current.</summary>
    public const string ApiVersion = "2026-10";

    private const int FailureThreshold = 10;

    /// <summary>dramatiq's <c>compute_backoff</c> as Polar calls it: 2 s factor, 20 minute cap.</summary>
    private const double BackoffFactorMilliseconds = 2000;

    private const double MaxBackoffMilliseconds = 20 * 60 * 1000;

    private readonly Lock _lock = new();
    private readonly PolarEmulatorOptions _options;
    private readonly EmulatorClock _clock;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<EmulatorWebhookEndpoint> _endpoints = [];
    private readonly Dictionary<string, Channel<DeliveryJob>> _queues = new(StringComparer.Ordinal);
    private readonly List<Task> _workers = [];
    private readonly List<EmulatorWebhookEvent> _events = [];
    private readonly List<EmulatorDelivery> _deliveries = [];
    private readonly List<EmulatorWebhookEvent> _held = [];
    private bool _holding;
    private int _outstanding;

    public WebhookDispatcher(PolarEmulatorOptions options, EmulatorClock clock)
    {
        _options = options;
        _clock = clock;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public IReadOnlyList<EmulatorWebhookEndpoint> Endpoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _endpoints];
            }
        }
    }

    public IReadOnlyList<EmulatorDelivery> Deliveries
    {
        get
        {
            lock (_lock)
            {
                return [.. _deliveries];
            }
        }
    }

    public IReadOnlyList<EmulatorWebhookEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public void AddEndpoint(EmulatorWebhookEndpoint endpoint)
    {
        var queue = Channel.CreateUnbounded<DeliveryJob>(new UnboundedChannelOptions { SingleReader = true });
        lock (_lock)
        {
            _endpoints.Add(endpoint);
            _queues.Add(endpoint.Id, queue);
            _workers.Add(Task.Run(() => RunWorkerAsync(queue.Reader)));
        }
    }

    public void SetEnabled(string endpointId, bool enabled)
    {
        lock (_lock)
        {
            var endpoint = _endpoints.FirstOrDefault(e => e.Id == endpointId) ?? throw new KeyNotFoundException($"No webhook endpoint {endpointId}.");
            if (endpoint.Enabled != enabled)
            {
                endpoint.Enabled = enabled;
                endpoint.ModifiedAt = _clock.UtcNow;
            }
        }
    }

    /// <summary>Creates one event per enabled endpoint subscribed to <paramref name="type"/> and queues it.</summary>
    public void Publish(string type, JsonObject data, DateTimeOffset timestamp)
    {
        var envelope = new JsonObject
        {
            ["type"] = type,
            ["timestamp"] = PolarJson.FormatDate(timestamp),
            ["api_version"] = ApiVersion,
            ["data"] = data,
        };
        var body = PolarJson.Serialize(envelope);
        lock (_lock)
        {
            foreach (var endpoint in _endpoints.Where(e => e.Enabled && e.Receives(type)))
            {
                var evt = new EmulatorWebhookEvent(Ids.NewUuid(), type, endpoint.Id, body, timestamp);
                _events.Add(evt);
                if (_holding)
                {
                    evt.Status = EmulatorWebhookEventStatus.Held;
                    _held.Add(evt);
                }
                else
                {
                    Enqueue(new DeliveryJob(evt, endpoint));
                }
            }
        }
    }

    public void Hold()
    {
        lock (_lock)
        {
            _holding = true;
        }
    }

    public IReadOnlyList<EmulatorWebhookEvent> HeldEvents
    {
        get
        {
            lock (_lock)
            {
                return [.. _held];
            }
        }
    }

    public void Release(Func<IReadOnlyList<EmulatorWebhookEvent>, IEnumerable<EmulatorWebhookEvent>>? arrange)
    {
        lock (_lock)
        {
            var held = _held.ToList();
            _held.Clear();
            _holding = false;
            var ordered = (arrange?.Invoke(held) ?? held).ToList();
            foreach (var evt in held.Except(ordered))
            {
                evt.Status = EmulatorWebhookEventStatus.Skipped;
            }

            foreach (var evt in ordered)
            {
                evt.Status = EmulatorWebhookEventStatus.Pending;
                Enqueue(new DeliveryJob(evt, _endpoints.First(e => e.Id == evt.EndpointId)));
            }
        }
    }

    /// <summary>
    /// Sends an event again, as Polar's manual redelivery does: same <c>webhook-id</c>, and the attempt count goes on
    /// from where it stopped, so an event that already used up its attempts gets exactly one more.
    /// </summary>
    public void Redeliver(string eventId)
    {
        lock (_lock)
        {
            var matches = _events.Where(e => e.EventId == eventId).ToList();
            if (matches.Count == 0)
            {
                throw new KeyNotFoundException($"No webhook event {eventId}.");
            }

            foreach (var evt in matches)
            {
                evt.Status = EmulatorWebhookEventStatus.Pending;
                Enqueue(new DeliveryJob(evt, _endpoints.First(e => e.Id == evt.EndpointId)));
            }
        }
    }

    /// <summary>Waits until no delivery is queued, waiting for a retry, or in flight. Held events do not count.</summary>
    public async Task WaitForIdleAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _outstanding) > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken).ConfigureAwait(false);
        }
    }

    private void Enqueue(DeliveryJob job)
    {
        Interlocked.Increment(ref _outstanding);
        if (!_queues[job.Endpoint.Id].Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }

    private async Task RunWorkerAsync(ChannelReader<DeliveryJob> reader)
    {
        try
        {
            await foreach (var job in reader.ReadAllAsync(_shutdown.Token).ConfigureAwait(false))
            {
                await AttemptAsync(job).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // Disposal.
        }
    }

    private async Task RetryLaterAsync(DeliveryJob job, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _clock.Transport, _shutdown.Token).ConfigureAwait(false);
            await AttemptAsync(job).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }

    private async Task AttemptAsync(DeliveryJob job)
    {
        var evt = job.Event;
        var endpoint = job.Endpoint;
        int attempt;
        lock (_lock)
        {
            // Polar checks the endpoint before every attempt, retries and redeliveries included.
            if (evt.Status == EmulatorWebhookEventStatus.Skipped || !endpoint.Enabled)
            {
                evt.Status = EmulatorWebhookEventStatus.Skipped;
                Interlocked.Decrement(ref _outstanding);
                return;
            }

            attempt = ++evt.Attempts;
        }

        var started = _clock.Transport.GetUtcNow();
        var timestamp = started.ToUnixTimeSeconds();
        var bodyBytes = System.Text.Encoding.UTF8.GetBytes(evt.Body);
        using var request = endpoint.Signer.CreateRequest(endpoint.Url, bodyBytes, evt.EventId, started);
        var signature = string.Join(' ', request.Headers.GetValues("webhook-signature"));
        int? status = null;
        string? error = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token))
        {
            timeout.CancelAfter(_options.WebhookTimeout);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                status = (int)response.StatusCode;
            }
            catch (OperationCanceledException) when (!_shutdown.IsCancellationRequested)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"timed out after {_options.WebhookTimeout.TotalSeconds} s");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A refused connection, a bad URL or a broken response: Polar records these as failed attempts too.
                error = e.Message;
            }
            catch (OperationCanceledException)
            {
                Interlocked.Decrement(ref _outstanding);
                return;
            }
        }

        var delivery = new EmulatorDelivery(evt.EventId, evt.Type, endpoint.Id, attempt, timestamp, signature, status, error, started, _clock.Transport.GetUtcNow());
        var retry = false;
        lock (_lock)
        {
            _deliveries.Add(delivery);
            if (delivery.Succeeded)
            {
                evt.Outcome = true;
                evt.Status = EmulatorWebhookEventStatus.Succeeded;
            }
            else if (evt.Status == EmulatorWebhookEventStatus.Skipped)
            {
                // Skipped while the attempt was in flight (the endpoint was disabled): nothing more to do.
            }
            else if (attempt < _options.WebhookMaxAttempts)
            {
                evt.Status = EmulatorWebhookEventStatus.Pending;
                Interlocked.Increment(ref _outstanding);
                retry = true;
            }
            else
            {
                // A redelivery that fails for good does not undo an earlier success (Polar keeps succeeded=true).
                evt.Outcome ??= false;
                evt.Status = evt.Outcome == true ? EmulatorWebhookEventStatus.Succeeded : EmulatorWebhookEventStatus.Failed;
                if (evt.Outcome == false)
                {
                    DisableIfFailing(endpoint);
                }
            }
        }

        if (retry)
        {
            // Retries run beside the endpoint's queue, so later events can overtake a failing one, as in Polar.
            var delay = RetryDelay(attempt);
            _ = Task.Run(() => RetryLaterAsync(job, delay));
        }

        Interlocked.Decrement(ref _outstanding);
    }

    /// <summary>
    /// The delay after failed attempt <paramref name="failedAttempt"/> (counted over the event's life): the configured
    /// <see cref="PolarEmulatorOptions.WebhookRetryDelays"/> as given, or Polar's
    /// <c>min(2 s * 2^n, 20 min)</c> with jitter between 50 % and 100 % when none are configured.
    /// </summary>
    private TimeSpan RetryDelay(int failedAttempt)
    {
        var delays = _options.WebhookRetryDelays;
        if (delays.Count > 0)
        {
            return delays[Math.Min(failedAttempt, delays.Count) - 1];
        }

        var backoff = Math.Min(BackoffFactorMilliseconds * Math.Pow(2, Math.Min(failedAttempt, 32)), MaxBackoffMilliseconds) / 2;
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromMilliseconds(Math.Floor(backoff + (Random.Shared.NextDouble() * backoff)));
#pragma warning restore CA5394
    }

    /// <summary>
    /// Polar's <c>on_event_failed</c>: the endpoint is disabled when its 10 most recent completed events (those with an
    /// outcome, newest first by creation) all failed; its pending and held events are then skipped.
    /// </summary>
    private void DisableIfFailing(EmulatorWebhookEndpoint endpoint)
    {
        if (!endpoint.Enabled)
        {
            return;
        }

        var recent = _events.Where(e => e.EndpointId == endpoint.Id && e.Outcome is not null).TakeLast(FailureThreshold).ToList();
        if (recent.Count < FailureThreshold || recent.Any(e => e.Outcome != false))
        {
            return;
        }

        endpoint.Enabled = false;
        endpoint.ModifiedAt = _clock.UtcNow;
        foreach (var evt in _events.Where(e => e.EndpointId == endpoint.Id && e.Status is EmulatorWebhookEventStatus.Pending or EmulatorWebhookEventStatus.Held))
        {
            evt.Status = EmulatorWebhookEventStatus.Skipped;
            _held.Remove(evt);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var q in _queues.Values)
            {
                q.Writer.TryComplete();
            }
        }

        try
        {
            await Task.WhenAll(_workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposal.
        }

        _http.Dispose();
        _shutdown.Dispose();
    }
}
