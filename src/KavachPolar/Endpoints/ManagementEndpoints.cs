using KavachPolar.Diagnostics;
using KavachPolar.Services;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST subscription/change</c>, <c>subscription/cancel</c>, <c>subscription/resume</c> and <c>portal</c>: the
/// checkout's request rules (<see cref="UserRequestGuard"/>), then one <see cref="IKavachPolarSubscriptions"/> call.
/// </summary>
internal static class ManagementEndpoints
{
    private const int MaxBodyBytes = 4 * 1024;
    private const string ChangeShape = "{\"productId\": \"...\", \"proration\"?: \"invoice\" | \"prorate\" | \"next_period\"}";

    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> ChangeAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "change", logger);
        if (user is null)
        {
            return refused!;
        }

        var (body, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.ChangePlanRequest, MaxBodyBytes, ChangeShape).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body is null || string.IsNullOrWhiteSpace(body.ProductId))
        {
            return JsonBody.Invalid(ChangeShape);
        }

        KavachProrationBehavior proration;
        switch (body.Proration)
        {
            case null or "invoice":
                proration = KavachProrationBehavior.Invoice;
                break;
            case "prorate":
                proration = KavachProrationBehavior.Prorate;
                break;
            case "next_period":
                proration = KavachProrationBehavior.NextPeriod;
                break;
            default:
                return KavachProblems.Create(StatusCodes.Status400BadRequest, KavachPolarErrorCodes.InvalidProration, "Unknown proration.", "proration must be invoice, prorate or next_period.");
        }

        if (Products.Resolve(body.ProductId, options.CurrentValue) is null)
        {
            return KavachProblems.FromCode(context, KavachPolarErrorCodes.UnknownProduct);
        }

        return await RunAsync(context, logger, "POST subscription/change", s => s.ChangePlanAsync(user.Id, body.ProductId, proration, context.RequestAborted)).ConfigureAwait(false);
    }

    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> CancelAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "cancel", logger);
        return user is null
            ? refused!
            : await RunAsync(context, logger, "POST subscription/cancel", s => s.CancelAtPeriodEndAsync(user.Id, context.RequestAborted)).ConfigureAwait(false);
    }

    public static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> ResumeAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "resume", logger);
        return user is null
            ? refused!
            : await RunAsync(context, logger, "POST subscription/resume", s => s.ResumeAsync(user.Id, context.RequestAborted)).ConfigureAwait(false);
    }

    public static async Task<Results<JsonHttpResult<PortalResponse>, ProblemHttpResult>> PortalAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "portal", logger);
        if (user is null)
        {
            return refused!;
        }

        KavachPortalSessionResult result;
        try
        {
            var returnUrl = new Uri(SuccessUrls.PublicOrigin(context.Request, options.CurrentValue) + "/");
            result = await context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>().CreatePortalSessionAsync(user.Id, returnUrl, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(logger, e, "POST portal");
            return KavachProblems.StoreUnavailable(context);
        }

        return result.Succeeded
            ? TypedResults.Json(new PortalResponse(result.Url!.AbsoluteUri), KavachJsonContext.Default.PortalResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
    }

    private static async Task<Results<JsonHttpResult<SubscriptionResponse>, ProblemHttpResult>> RunAsync(HttpContext context, ILogger logger, string route, Func<IKavachPolarSubscriptions, Task<KavachPolarResult>> call)
    {
        KavachPolarResult result;
        try
        {
            result = await call(context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>()).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(logger, e, route);
            return KavachProblems.StoreUnavailable(context);
        }

        return result.Succeeded
            ? TypedResults.Json(new SubscriptionResponse(result.Subscription), KavachJsonContext.Default.SubscriptionResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
    }
}
