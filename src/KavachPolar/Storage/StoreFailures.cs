using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace KavachPolar.Storage;

/// <summary>
/// The one policy for "the database is unreachable or too slow": what a route answers 503 for. Anything else is a
/// bug and must surface as a 500 with an error log, not read as an outage.
/// </summary>
internal static class StoreFailures
{
    /// <summary>
    /// True for the driver's and EF Core's connection and command failures, timeouts, a retry strategy giving up,
    /// and a cancellation that is not the caller's own (<paramref name="callerToken"/>): a database budget expiring.
    /// </summary>
    public static bool IsStoreFailure(Exception e, CancellationToken callerToken)
    {
        if (e is OperationCanceledException)
        {
            return !callerToken.IsCancellationRequested;
        }

        // EF Core's execution strategies wrap what they give up on (InvalidOperationException "likely due to a
        // transient failure", RetryLimitExceededException); the driver's error is somewhere inside.
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is DbException or DbUpdateException or TimeoutException or RetryLimitExceededException)
            {
                return true;
            }
        }

        return false;
    }
}
