using System.Net;
using KavachPolar.Diagnostics;
using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/checkout</c>: parses the request, then hands it to <see cref="CheckoutService"/>, which
/// checks the product and success URL, chooses the Polar customer and creates the checkout.
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
        if (problem is not null || request is null || string.IsNullOrWhiteSpace(request.ProductId))
        {
            return problem ?? JsonBody.Invalid(ExpectedShape);
        }

        var buyer = new CheckoutBuyer(user.Id, user.Email, user.Name);
        var service = context.RequestServices.GetRequiredService<CheckoutService>();
        var (outcome, unavailable) = await ServiceCall.RunAsync(
            context,
            logger,
            "POST checkout",
            ct => service.CreateAsync(buyer, request.ProductId, request.SuccessUrl, AppOrigin.Of(context.Request, options), PublicClientIp(context), ct)).ConfigureAwait(false);
        if (unavailable is not null)
        {
            return unavailable;
        }

        if (outcome!.Succeeded)
        {
            return TypedResults.Ok(new CheckoutResponse(outcome.Url!, outcome.CheckoutId!));
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
