using System.Net;
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
/// <c>POST {base}/auth/polar/checkout</c>: parses and checks the request, then hands it to
/// <see cref="CheckoutService"/>, which chooses the Polar customer and creates the checkout.
/// </summary>
internal static class CheckoutEndpoint
{
    private const int MaxBodyBytes = 8 * 1024;
    private const string ExpectedShape = "{\"productId\": \"...\", \"successUrl\"?: \"...\"}";

    public static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> HandleAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> optionsMonitor,
        UserRateLimiter rateLimiter,
        ILoggerFactory loggers)
    {
        var result = await CreateAsync(context, optionsMonitor.CurrentValue, rateLimiter, loggers.CreateLogger(typeof(CheckoutEndpoint))).ConfigureAwait(false);
        KavachPolarTelemetry.CountCheckout(result.Result is ProblemHttpResult problem ? problem.ProblemDetails.Extensions["code"] as string ?? "problem" : "created");
        return result;
    }

    private static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> CreateAsync(HttpContext context, KavachPolarOptions options, UserRateLimiter rateLimiter, ILogger logger)
    {
        var (user, refused) = UserRequestGuard.Check(context, options, rateLimiter, "checkout", logger);
        if (user is null)
        {
            return refused!;
        }

        var (request, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.CheckoutRequest, MaxBodyBytes, ExpectedShape).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (request is null || string.IsNullOrWhiteSpace(request.ProductId))
        {
            return JsonBody.Invalid(ExpectedShape);
        }

        var productId = Products.Resolve(request.ProductId, options);
        if (productId is null)
        {
            return KavachProblems.FromCode(context, KavachPolarErrorCodes.UnknownProduct);
        }

        string? successUrl = null;
        var wantedSuccessUrl = request.SuccessUrl ?? options.SuccessUrl;
        if (!string.IsNullOrEmpty(wantedSuccessUrl))
        {
            successUrl = SuccessUrls.Resolve(wantedSuccessUrl, SuccessUrls.PublicOrigin(context.Request, options), options.AllowedRedirectOrigins);
            if (successUrl is null)
            {
                return KavachProblems.Create(StatusCodes.Status400BadRequest, KavachPolarErrorCodes.SuccessUrlNotAllowed, "The success URL is not allowed.", "Use a path on this site or an absolute URL on an origin listed in KavachPolar:AllowedRedirectOrigins.");
            }
        }

        var service = context.RequestServices.GetRequiredService<CheckoutService>();
        CheckoutOutcome outcome;
        try
        {
            outcome = await service.CreateAsync(new CheckoutBuyer(user.Id, user.Email, user.Name), productId, successUrl, PublicClientIp(context), context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
        {
            Log.StoreUnavailable(logger, e, "POST checkout");
            return KavachProblems.StoreUnavailable(context);
        }

        if (outcome.Succeeded)
        {
            return TypedResults.Ok(new CheckoutResponse(outcome.Url!, outcome.CheckoutId!));
        }

        if (outcome.ErrorCode is KavachPolarErrorCodes.CustomerConflict or KavachPolarErrorCodes.UserForgotten)
        {
            Log.RequestRefused(logger, "checkout", user.Id, outcome.ErrorCode);
        }

        return outcome.PolarError is { } polarError
            ? KavachProblems.FromPolarError(context, polarError)
            : KavachProblems.FromCode(context, outcome.ErrorCode!, subscription: outcome.Subscription);
    }

    private static string? PublicClientIp(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        if (ip is null || IPAddress.IsLoopback(ip))
        {
            return null;
        }

        return (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
    }
}
