using KavachPolar.Diagnostics;
using KavachPolar.Services;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary><c>GET {base}/auth/polar/subscription</c>: the signed-in user's current subscription, from the database only.</summary>
internal static class SubscriptionEndpoint
{
    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> options,
        ILoggerFactory loggers)
    {
        var user = RequestUser.From(context, options.CurrentValue);
        if (user is null)
        {
            return KavachProblems.Unauthorized();
        }

        KavachSubscription? subscription;
        try
        {
            // Bounded by KavachPolar:DatabaseTimeout: a database that hangs gets a 503, not a request that waits
            // out the connection string's timeouts.
            subscription = (await context.RequestServices.GetRequiredService<SubscriptionReader>().LoadAsync(user.Id, context.RequestAborted).ConfigureAwait(false)).Current;
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(loggers.CreateLogger(typeof(SubscriptionEndpoint)), e, "GET subscription");
            return KavachProblems.StoreUnavailable(context);
        }

        return TypedResults.Json(new SubscriptionResponse(subscription), KavachJsonContext.Default.SubscriptionResponse);
    }
}
