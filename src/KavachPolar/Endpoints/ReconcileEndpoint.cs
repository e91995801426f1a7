using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/reconcile</c>: re-reads the signed-in user's subscriptions from Polar.
/// With <c>{"checkoutId": "..."}</c> (what Polar puts in the success URL) it applies that checkout's
/// subscription, so a success page shows it even before the webhook arrives.
/// </summary>
internal static class ReconcileEndpoint
{
    private const int MaxBodyBytes = 4 * 1024;

    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> optionsMonitor,
        UserRateLimiter rateLimiter,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ReconcileEndpoint));
        var (user, refused) = UserRequestGuard.Check(context, optionsMonitor.CurrentValue, rateLimiter, "reconcile", logger);
        if (user is null)
        {
            return refused!;
        }

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

        var service = context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>();
        var (result, unavailable) = await ServiceCall.RunAsync(
            context,
            logger,
            "POST reconcile",
            ct => string.IsNullOrEmpty(checkoutId) ? service.ReconcileUserAsync(user.Id, ct) : service.ReconcileCheckoutAsync(user.Id, checkoutId, ct)).ConfigureAwait(false);
        return unavailable ?? ServiceCall.ToResponse(context, result!);
    }
}
