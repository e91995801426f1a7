using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Endpoints;

/// <summary>
/// The one service call of a route: a store failure (<see cref="StoreFailures"/>) is logged with the route's name and
/// answered 503 with <c>Retry-After</c>; any other exception propagates (500).
/// </summary>
internal static class ServiceCall
{
    public static async Task<(T? Value, ProblemHttpResult? Problem)> RunAsync<T>(HttpContext context, ILogger logger, string route, Func<CancellationToken, Task<T>> call)
    {
        try
        {
            return (await call(context.RequestAborted).ConfigureAwait(false), null);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(logger, e, route);
            return (default, KavachProblems.StoreUnavailable(context));
        }
    }

    /// <summary>A <see cref="KavachPolarResult"/> as HTTP: the subscription, or the problem for its error code.</summary>
    public static Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult> ToResponse(HttpContext context, KavachPolarResult result) =>
        result.Succeeded
            ? TypedResults.Json(new SubscriptionResponse(result.Subscription), KavachJsonContext.Default.SubscriptionResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
}
