using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/reconcile</c>: re-reads the signed-in user's subscriptions from Polar.
/// With <c>{"checkoutId": "..."}</c> (what Polar puts in the success URL) it applies that checkout's
/// subscription, so a success page shows it even before the webhook arrives.
/// </summary>
internal static class ReconcileEndpoint
{
    private const int MaxBodyBytes = 4 * 1024;

    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> HandleAsync(HttpContext context)
    {
        string? checkoutId = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var (body, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.ReconcileRequest, MaxBodyBytes, "empty or {\"checkoutId\": \"...\"}").ConfigureAwait(false);
            if (problem is not null)
            {
                return problem;
            }

            checkoutId = body?.CheckoutId;
        }

        var userId = RequestUser.Of(context).Id;
        var subscriptions = ManagementEndpoints.Subscriptions(context);
        var result = string.IsNullOrEmpty(checkoutId)
            ? await subscriptions.ReconcileUserAsync(userId, context.RequestAborted).ConfigureAwait(false)
            : await subscriptions.ReconcileCheckoutAsync(userId, checkoutId, context.RequestAborted).ConfigureAwait(false);
        return SubscriptionResponse.From(context, result);
    }
}
