using System.Globalization;
using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>GET {base}/auth/polar/orders</c>: the signed-in user's orders, newest first (at most 50), from the database only;
/// <c>POST {base}/auth/polar/orders/{id}/invoice</c>: the invoice of one of them.
/// </summary>
internal static class OrdersEndpoint
{
    /// <summary>How long a client waits before asking again while Polar makes an invoice (its job takes seconds).</summary>
    public static readonly TimeSpan InvoiceRetryAfter = TimeSpan.FromSeconds(2);

    public static async Task<JsonHttpResult<OrdersResponse>> ListAsync(HttpContext context, OrderReader reader) =>
        TypedResults.Json(
            new OrdersResponse(await reader.GetAsync(RequestUser.Of(context).Id, 50, context.RequestAborted).ConfigureAwait(false)),
            KavachJsonContext.Default.OrdersResponse);

    /// <summary>200 <c>{"url"}</c>; 202 with <c>Retry-After</c> while Polar makes it; 404 for an order that is not the user's.</summary>
    public static async Task<Results<JsonHttpResult<InvoiceResponse>, Accepted, ProblemHttpResult>> InvoiceAsync(HttpContext context, string id, OrderReader reader)
    {
        var outcome = await reader.InvoiceAsync(RequestUser.Of(context).Id, id, context.RequestAborted).ConfigureAwait(false);
        if (outcome.Url is { } url)
        {
            return TypedResults.Json(new InvoiceResponse(url.AbsoluteUri), KavachJsonContext.Default.InvoiceResponse);
        }

        if (outcome.Pending)
        {
            context.Response.Headers.RetryAfter = ((int)InvoiceRetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return TypedResults.Accepted((string?)null);
        }

        return outcome.PolarError is { } error
            ? KavachProblems.FromPolarError(context, error)
            : KavachProblems.FromCode(context, outcome.ErrorCode!);
    }
}

/// <summary>The body of <c>GET orders</c>: <c>{"orders": [...]}</c>.</summary>
internal sealed record OrdersResponse(IReadOnlyList<KavachOrder> Orders);

/// <summary>The body of an invoice that exists: <c>{"url"}</c>.</summary>
internal sealed record InvoiceResponse(string Url);
