using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// Per-user limits on the routes that call Polar: <see cref="KavachPolarOptions.ReconcileRateLimit"/> a minute for
/// reconcile, <see cref="KavachPolarOptions.CheckoutRateLimit"/> for checkout and each management route, counted
/// separately per route. Counters live in this process: with several instances each enforces its own.
/// </summary>
internal sealed class UserRateLimiter : IDisposable
{
    public const string Reconcile = "reconcile";

    private readonly PartitionedRateLimiter<string> _limiter;

    public UserRateLimiter(IOptions<KavachPolarOptions> options)
    {
        var checkout = options.Value.CheckoutRateLimit;
        var reconcile = options.Value.ReconcileRateLimit;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(
            key,
            k => new FixedWindowRateLimiterOptions
            {
                PermitLimit = k.StartsWith(Reconcile + ":", StringComparison.Ordinal) ? reconcile : checkout,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes one permit of <paramref name="operation"/> for <paramref name="userId"/>; when refused, how long to wait.</summary>
    public bool TryAcquire(string operation, string userId, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(operation + ":" + userId);
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
