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
            await using var store = KavachDbScope.Open(context.RequestServices.GetRequiredService<IServiceScopeFactory>());
            row = await store.Db.Set<KavachUser>().AsNoTracking().FirstOrDefaultAsync(u => u.Id == user.Id, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            Log.StoreUnavailable(loggers.CreateLogger(typeof(SubscriptionEndpoint)), e, "GET subscription");
            return KavachProblems.StoreUnavailable();
        }

        var subscription = row is null ? null : SubscriptionProjection.Read(row);
        return TypedResults.Json(new SubscriptionResponse(subscription), KavachJsonContext.Default.SubscriptionResponse);
    }
}
