using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary><c>GET {base}/auth/polar/subscription</c>: the signed-in user's current subscription, from the database only.</summary>
internal static class SubscriptionEndpoint
{
    // Bounded by KavachPolar:DatabaseTimeout: a database that hangs gets a 503 (StoreFailureFilter), not a request
    // that waits out the connection string's timeouts.
    public static async Task<JsonHttpResult<SubscriptionResponse>> HandleAsync(HttpContext context, SubscriptionReader reader) =>
        TypedResults.Json(
            new SubscriptionResponse((await reader.LoadAsync(RequestUser.Of(context).Id, context.RequestAborted).ConfigureAwait(false)).Current),
            KavachJsonContext.Default.SubscriptionResponse);
}
