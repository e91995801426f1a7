using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// Per-user limit on checkout creation (<see cref="KavachPolarOptions.CheckoutRateLimit"/> per
/// minute). Counters live in this process: with several instances each enforces its own.
/// </summary>
internal sealed class CheckoutRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public CheckoutRateLimiter(IOptions<KavachPolarOptions> options)
    {
        var permits = options.Value.CheckoutRateLimit;
        _limiter = PartitionedRateLimiter.Create<string, string>(userId => RateLimitPartition.GetFixedWindowLimiter(
            userId,
            _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes one permit for <paramref name="userId"/>; when refused, how long to wait.</summary>
    public bool TryAcquire(string userId, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(userId);
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : TimeSpan.FromMinutes(1);
        return false;
    }

    public void Dispose() => _limiter.Dispose();
}
