using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SubscriptionResult = Microsoft.AspNetCore.Http.HttpResults.Results<Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<KavachPolar.Endpoints.SubscriptionResponse>, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST subscription/change</c>, <c>subscription/cancel</c>, <c>subscription/resume</c> and <c>portal</c>: the
/// checkout's request rules (<see cref="UserRequestGuard"/>), then one <see cref="IKavachPolarSubscriptions"/> call.
/// </summary>
internal static class ManagementEndpoints
{
    private const int MaxBodyBytes = 4 * 1024;
    private const string ChangeShape = "{\"productId\": \"...\", \"proration\"?: \"invoice\" | \"prorate\" | \"next_period\"}";

    public static async Task<SubscriptionResult> ChangeAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "change", logger);
        if (user is null)
        {
            return refused!;
        }

        var (body, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.ChangePlanRequest, MaxBodyBytes, ChangeShape).ConfigureAwait(false);
        if (problem is not null || body is null || string.IsNullOrWhiteSpace(body.ProductId))
        {
            return problem ?? JsonBody.Invalid(ChangeShape);
        }

        if (ParseProration(body.Proration) is not { } proration)
        {
            return KavachProblems.Create(KavachPolarErrorCodes.InvalidProration, "Unknown proration.", "proration must be invoice, prorate or next_period.");
        }

        return Products.Resolve(body.ProductId, options.CurrentValue) is null
            ? KavachProblems.FromCode(context, KavachPolarErrorCodes.UnknownProduct)
            : await CallAsync(context, logger, "change", (s, ct) => s.ChangePlanAsync(user.Id, body.ProductId, proration, ct)).ConfigureAwait(false);
    }

    public static Task<SubscriptionResult> CancelAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers) =>
        WithoutBodyAsync(context, options, limiter, loggers, "cancel", (s, userId, ct) => s.CancelAtPeriodEndAsync(userId, ct));

    public static Task<SubscriptionResult> ResumeAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers) =>
        WithoutBodyAsync(context, options, limiter, loggers, "resume", (s, userId, ct) => s.ResumeAsync(userId, ct));

    public static async Task<Results<JsonHttpResult<PortalResponse>, ProblemHttpResult>> PortalAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, "portal", logger);
        if (user is null)
        {
            return refused!;
        }

        var returnUrl = new Uri(AppOrigin.Of(context.Request, options.CurrentValue) + "/");
        var (result, unavailable) = await ServiceCall.RunAsync(context, logger, "POST portal", ct => Subscriptions(context).CreatePortalSessionAsync(user.Id, returnUrl, ct)).ConfigureAwait(false);
        if (unavailable is not null)
        {
            return unavailable;
        }

        return result!.Succeeded
            ? TypedResults.Json(new PortalResponse(result.Url!.AbsoluteUri), KavachJsonContext.Default.PortalResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
    }

    /// <summary>Cancel and resume: the guard for <paramref name="operation"/>, then one call with the user's id.</summary>
    private static async Task<SubscriptionResult> WithoutBodyAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options, UserRateLimiter limiter, ILoggerFactory loggers, string operation, Func<IKavachPolarSubscriptions, string, CancellationToken, Task<KavachPolarResult>> call)
    {
        var logger = loggers.CreateLogger(typeof(ManagementEndpoints));
        var (user, refused) = UserRequestGuard.Check(context, options.CurrentValue, limiter, operation, logger);
        return user is null
            ? refused!
            : await CallAsync(context, logger, operation, (s, ct) => call(s, user.Id, ct)).ConfigureAwait(false);
    }

    private static async Task<SubscriptionResult> CallAsync(HttpContext context, ILogger logger, string operation, Func<IKavachPolarSubscriptions, CancellationToken, Task<KavachPolarResult>> call)
    {
        var (result, unavailable) = await ServiceCall.RunAsync(context, logger, "POST subscription/" + operation, ct => call(Subscriptions(context), ct)).ConfigureAwait(false);
        return unavailable ?? ServiceCall.ToResponse(context, result!);
    }

    private static IKavachPolarSubscriptions Subscriptions(HttpContext context) => context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>();

    private static KavachProrationBehavior? ParseProration(string? proration) => proration switch
    {
        null or "invoice" => KavachProrationBehavior.Invoice,
        "prorate" => KavachProrationBehavior.Prorate,
        "next_period" => KavachProrationBehavior.NextPeriod,
        _ => null,
    };
}
