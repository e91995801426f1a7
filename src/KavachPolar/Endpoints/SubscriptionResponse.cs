using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>The body of every route that answers with the user's subscription: <c>{"subscription": {...} | null}</c>.</summary>
internal sealed record SubscriptionResponse(KavachSubscription? Subscription)
{
    /// <summary>A <see cref="KavachPolarResult"/> as HTTP: the subscription, or the problem for its error code.</summary>
    public static Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult> From(HttpContext context, KavachPolarResult result) =>
        result.Succeeded
            ? TypedResults.Json(new SubscriptionResponse(result.Subscription), KavachJsonContext.Default.SubscriptionResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
}
