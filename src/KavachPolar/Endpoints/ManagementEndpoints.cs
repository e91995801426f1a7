using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SubscriptionResult = Microsoft.AspNetCore.Http.HttpResults.Results<Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<KavachPolar.Endpoints.SubscriptionResponse>, Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST subscription/change</c>, <c>subscription/cancel</c>, <c>subscription/resume</c> and <c>portal</c> for the
/// user <see cref="UserRequestGuard"/> let through: each one <see cref="IKavachPolarSubscriptions"/> call.
/// </summary>
internal static class ManagementEndpoints
{
    private const int MaxBodyBytes = 4 * 1024;
    private const string ChangeShape = "{\"productId\": \"...\", \"proration\"?: \"invoice\" | \"prorate\" | \"next_period\"}";

    public static async Task<SubscriptionResult> ChangeAsync(HttpContext context)
    {
        var (body, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.ChangePlanRequest, MaxBodyBytes, ChangeShape).ConfigureAwait(false);
        if (problem is not null || body is null || string.IsNullOrWhiteSpace(body.ProductId))
        {
            return problem ?? JsonBody.Invalid(ChangeShape);
        }

        if (ParseProration(body.Proration) is not { } proration)
        {
            return KavachProblems.Create(KavachPolarErrorCodes.InvalidProration, "Unknown proration.", "proration must be invoice, prorate or next_period.");
        }

        var result = await Subscriptions(context).ChangePlanAsync(RequestUser.Of(context).Id, body.ProductId, proration, context.RequestAborted).ConfigureAwait(false);
        return SubscriptionResponse.From(context, result);
    }

    public static async Task<SubscriptionResult> CancelAsync(HttpContext context) =>
        SubscriptionResponse.From(context, await Subscriptions(context).CancelAtPeriodEndAsync(RequestUser.Of(context).Id, context.RequestAborted).ConfigureAwait(false));

    public static async Task<SubscriptionResult> ResumeAsync(HttpContext context) =>
        SubscriptionResponse.From(context, await Subscriptions(context).ResumeAsync(RequestUser.Of(context).Id, context.RequestAborted).ConfigureAwait(false));

    public static async Task<Results<JsonHttpResult<PortalResponse>, ProblemHttpResult>> PortalAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options)
    {
        var returnUrl = new Uri(AppOrigin.Of(context.Request, options.CurrentValue) + "/");
        var result = await Subscriptions(context).CreatePortalSessionAsync(RequestUser.Of(context).Id, returnUrl, context.RequestAborted).ConfigureAwait(false);
        return result.Succeeded
            ? TypedResults.Json(new PortalResponse(result.Url!.AbsoluteUri), KavachJsonContext.Default.PortalResponse)
            : KavachProblems.FromCode(context, result.ErrorCode!, result.RetryAfter);
    }

    /// <summary>
    /// The service, resolved once the guard has let the request through (a parameter would be bound before the guard
    /// runs, and a refused request should not build the service and its Polar client).
    /// </summary>
    internal static IKavachPolarSubscriptions Subscriptions(HttpContext context) => context.RequestServices.GetRequiredService<IKavachPolarSubscriptions>();

    private static KavachProrationBehavior? ParseProration(string? proration) => proration switch
    {
        null or "invoice" => KavachProrationBehavior.Invoice,
        "prorate" => KavachProrationBehavior.Prorate,
        "next_period" => KavachProrationBehavior.NextPeriod,
        _ => null,
    };
}
