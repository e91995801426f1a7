using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
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

        KavachUser? row;
        try
        {
            // Bounded like a webhook: a database that hangs gets a 503, not a request that waits
            // out the connection string's timeouts.
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            budget.CancelAfter(options.CurrentValue.WebhookProcessingTimeout);
            await using var store = KavachDbScope.Open(context.RequestServices.GetRequiredService<IServiceScopeFactory>());
            await store.OpenAsync(budget.Token).ConfigureAwait(false);
            row = await store.Db.Set<KavachUser>().AsNoTracking().FirstOrDefaultAsync(u => u.Id == user.Id, budget.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(loggers.CreateLogger(typeof(SubscriptionEndpoint)), e, "GET subscription");
            return KavachProblems.StoreUnavailable(context);
        }

        var subscription = row is null ? null : SubscriptionProjection.Read(row);
        return TypedResults.Json(new SubscriptionResponse(subscription), KavachJsonContext.Default.SubscriptionResponse);
    }
}
