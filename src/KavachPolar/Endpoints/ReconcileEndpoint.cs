using System.Text.Json;
using KavachPolar.Diagnostics;
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
        CheckoutRateLimiter rateLimiter,
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
            if (!context.Request.HasJsonContentType())
            {
                return KavachProblems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.");
            }

            if (context.Request.ContentLength > MaxBodyBytes)
            {
                return KavachProblems.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The request body is too large.");
            }

            try
            {
                var body = await JsonSerializer.DeserializeAsync(context.Request.Body, KavachJsonContext.Default.ReconcileRequest, context.RequestAborted).ConfigureAwait(false);
                checkoutId = body?.CheckoutId;
            }
            catch (JsonException)
            {
                return KavachProblems.Create(StatusCodes.Status400BadRequest, "invalid_body", "The body must be empty or {\"checkoutId\": \"...\"}.");
            }
        }

        var service = context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>();
        KavachPolarResult result;
        try
        {
            result = string.IsNullOrEmpty(checkoutId)
                ? await service.ReconcileUserAsync(user.Id, context.RequestAborted).ConfigureAwait(false)
                : await service.ReconcileCheckoutAsync(user.Id, checkoutId, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            Log.StoreUnavailable(logger, e, "POST reconcile");
            return KavachProblems.StoreUnavailable();
        }

        if (!result.Succeeded)
        {
            return KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
        }

        return TypedResults.Json(new SubscriptionResponse(result.Subscription), KavachJsonContext.Default.SubscriptionResponse);
    }
}
