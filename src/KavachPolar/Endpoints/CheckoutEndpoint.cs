using System.Net;
using KavachPolar.Diagnostics;
using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
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

    public static async Task<Results<Ok<CheckoutResponse>, ProblemHttpResult>> HandleAsync(HttpContext context, IOptionsMonitor<KavachPolarOptions> options)
    {
        var (request, problem) = await JsonBody.ReadAsync(context, KavachJsonContext.Default.CheckoutRequest, MaxBodyBytes, ExpectedShape).ConfigureAwait(false);
        if (problem is not null || request is null || string.IsNullOrWhiteSpace(request.ProductId))
        {
            return problem ?? JsonBody.Invalid(ExpectedShape);
        }

        var user = RequestUser.Of(context);
        var buyer = new CheckoutBuyer(user.Id, user.Email, user.Name);
        var origin = AppOrigin.Of(context.Request, options.CurrentValue);
        // Resolved here, not bound as a parameter: parameters are bound before the guard runs, and a refused request
        // should not build the service and its Polar client.
        var checkouts = context.RequestServices.GetRequiredService<CheckoutService>();
        var outcome = await checkouts.CreateAsync(buyer, request.ProductId, request.SuccessUrl, origin, PublicClientIp(context), context.RequestAborted).ConfigureAwait(false);
        if (outcome.Succeeded)
        {
            return TypedResults.Ok(new CheckoutResponse(outcome.Url!, outcome.CheckoutId!));
        }

        return outcome.PolarError is { } polarError
            ? KavachProblems.FromPolarError(context, polarError)
            : KavachProblems.FromCode(context, outcome.ErrorCode!, subscription: outcome.Subscription);
    }

    /// <summary>The endpoint filter that counts every checkout request by result, refusals by the guard included.</summary>
    public static async ValueTask<object?> CountAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var result = await next(invocation).ConfigureAwait(false);
        var answer = result is INestedHttpResult nested ? nested.Result : result;
        var code = answer is ProblemHttpResult problem ? problem.ProblemDetails.Extensions["code"] as string ?? "problem" : "created";
        invocation.HttpContext.RequestServices.GetRequiredService<KavachPolarMetrics>().CountCheckout(code);
        return result;
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
