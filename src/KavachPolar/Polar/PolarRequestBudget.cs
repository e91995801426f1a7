using System.Net;
using System.Threading.RateLimiting;
using KavachPolar.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Polar;

/// <summary>
/// This instance's share of Polar's rate limit, which is the organization's (500 requests a minute in production,
/// 100 in the sandbox), not a user's. Calls over <see cref="KavachPolarOptions.PolarRequestsPerMinute"/> are not sent:
/// they get an answer like Polar's own 429 (empty body, <c>Retry-After</c>), and so does every call while Polar's last
/// 429 asks to wait. A burst of one user's reconciles then cannot make every other user's checkout fail at Polar.
/// </summary>
internal sealed class PolarRequestBudget : IDisposable
{
    private readonly IOptionsMonitor<KavachPolarOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PolarRequestBudget> _logger;
    private readonly Lock _lock = new();
    private SlidingWindowRateLimiter? _limiter;
    private int _limit;
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

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Func<HttpRequestMessage, Task<HttpResponseMessage>> send)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var hold = Interlocked.Read(ref _holdUntilTicks);
        if (now < hold)
        {
            return Refused(request, TimeSpan.FromTicks(hold - now));
        }

        using var lease = Limiter().AttemptAcquire();
        if (!lease.IsAcquired)
        {
            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(10);
            Log.PolarBudgetExhausted(_logger, _limit, wait);
            return Refused(request, wait);
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

    private SlidingWindowRateLimiter Limiter()
    {
        var limit = Limit(_options.CurrentValue);
        lock (_lock)
        {
            if (_limiter is null || _limit != limit)
            {
                // The previous limiter is dropped, not disposed: another thread may be acquiring from it right now.
                _limit = limit;
                _limiter = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
                {
                    PermitLimit = limit,
                    Window = TimeSpan.FromMinutes(1),
                    SegmentsPerWindow = 12,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            }

            return _limiter;
        }
    }

    private static HttpResponseMessage Refused(HttpRequestMessage request, TimeSpan wait)
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { RequestMessage = request, Content = new ByteArrayContent([]) };
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds))));
        return response;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _limiter?.Dispose();
        }
    }
}
