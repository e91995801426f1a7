using System.Net;
using KavachPolar.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Polar;

/// <summary>
/// This instance's share of Polar's rate limit, which is the organization's (500 requests a minute in production,
/// 100 in the sandbox), not a user's, divided fairly among the users calling. Over the last minute (a sliding
/// window), at most <see cref="KavachPolarOptions.PolarRequestsPerMinute"/> calls go out, and one user's calls at most
/// a fair share of them: the budget divided by the number of users who called in that minute (this one included)
/// plus one, so one share is always left for a user who comes next. Calls made outside a user's flow
/// (<see cref="PolarCaller"/>) share as one more user. A call over either limit is not sent: it gets an answer like
/// Polar's own 429 (empty body, <c>Retry-After</c>), and so does every call while Polar's last 429 asks to wait.
/// A burst of a few accounts then cannot make every other user's checkout fail.
/// </summary>
internal sealed class PolarRequestBudget
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly IOptionsMonitor<KavachPolarOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PolarRequestBudget> _logger;
    private readonly Lock _lock = new();

    // The calls sent in the last minute, oldest first, and the same per user (the key "" for calls outside a user's
    // flow). At most the budget's worth of entries: nothing is recorded that was not sent.
    private readonly Queue<(long Ticks, string User)> _sent = new();
    private readonly Dictionary<string, Queue<long>> _sentByUser = new(StringComparer.Ordinal);
    private long _holdUntilTicks;

    public PolarRequestBudget(IOptionsMonitor<KavachPolarOptions> options, TimeProvider time, ILogger<PolarRequestBudget> logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The handler in the Polar client's pipeline (one per pipeline; the budget is shared).</summary>
    public DelegatingHandler CreateHandler() => new Handler(this);

    private sealed class Handler(PolarRequestBudget budget) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            budget.SendAsync(request, r => base.SendAsync(r, cancellationToken));
    }

    /// <summary>The requests a minute this instance may send: the option, or Polar's limit for the environment.</summary>
    public static int Limit(KavachPolarOptions o) => o.PolarRequestsPerMinute ?? (o.Sandbox ? 100 : 500);

    /// <summary>
    /// One user's share of <paramref name="limit"/> while <paramref name="activeUsers"/> users (that user included)
    /// have calls in the window: an equal part of the budget with one part kept for a user who comes next; at least one
    /// call, so that a budget smaller than the crowd still serves whoever comes first.
    /// </summary>
    public static int FairShare(int limit, int activeUsers) => Math.Max(1, limit / (activeUsers + 1));

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Func<HttpRequestMessage, Task<HttpResponseMessage>> send)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var hold = Interlocked.Read(ref _holdUntilTicks);
        if (now < hold)
        {
            return Refused(request, TimeSpan.FromTicks(hold - now));
        }

        if (TryAcquire(PolarCaller.Current ?? "", now) is { } refusal)
        {
            return Refused(request, refusal);
        }

        var response = await send(request).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            // Polar's limit is the organization's: while it asks to wait, nothing from this instance goes out.
            var wait = response.Headers.RetryAfter is { } retryAfter
                ? retryAfter.Delta ?? (retryAfter.Date is { } date ? date - _time.GetUtcNow() : TimeSpan.FromSeconds(1))
                : TimeSpan.FromSeconds(1);
            Interlocked.Exchange(ref _holdUntilTicks, _time.GetUtcNow().UtcTicks + wait.Ticks);
        }

        return response;
    }

    /// <summary>Records a call of <paramref name="user"/> and returns null, or returns how long to wait.</summary>
    private TimeSpan? TryAcquire(string user, long now)
    {
        var limit = Limit(_options.CurrentValue);
        lock (_lock)
        {
            var expired = now - Window.Ticks;
            while (_sent.TryPeek(out var oldest) && oldest.Ticks <= expired)
            {
                _sent.Dequeue();
                var mine = _sentByUser[oldest.User];
                mine.Dequeue();
                if (mine.Count == 0)
                {
                    _sentByUser.Remove(oldest.User);
                }
            }

            if (_sent.Count >= limit)
            {
                var wait = TimeSpan.FromTicks(_sent.Peek().Ticks + Window.Ticks - now);
                Log.PolarBudgetExhausted(_logger, limit, wait);
                return wait;
            }

            _sentByUser.TryGetValue(user, out var calls);
            var active = _sentByUser.Count + (calls is null ? 1 : 0);
            var share = FairShare(limit, active);
            if (calls is not null && calls.Count >= share)
            {
                // Its oldest call leaving the window gives the user one more (or fewer users share the budget then).
                var wait = TimeSpan.FromTicks(calls.Peek() + Window.Ticks - now);
                Log.PolarFairShareExhausted(_logger, user.Length == 0 ? "(no user)" : user, share, limit, active, wait);
                return wait;
            }

            if (calls is null)
            {
                _sentByUser[user] = calls = new Queue<long>();
            }

            calls.Enqueue(now);
            _sent.Enqueue((now, user));
            return null;
        }
    }

    private static HttpResponseMessage Refused(HttpRequestMessage request, TimeSpan wait)
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { RequestMessage = request, Content = new ByteArrayContent([]) };
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds))));
        return response;
    }
}
