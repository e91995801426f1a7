using KavachPolar.Services;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary><c>GET {base}/auth/polar/benefits</c>: the benefits the signed-in user holds, from the database only.</summary>
internal static class BenefitsEndpoint
{
    public static async Task<JsonHttpResult<BenefitsResponse>> HandleAsync(HttpContext context, BenefitReader reader) =>
        TypedResults.Json(
            new BenefitsResponse(await reader.GetAsync(RequestUser.Of(context).Id, context.RequestAborted).ConfigureAwait(false)),
            KavachJsonContext.Default.BenefitsResponse);
}

/// <summary>The body of <c>GET benefits</c>: <c>{"benefits": [...]}</c>.</summary>
internal sealed record BenefitsResponse(IReadOnlyList<KavachBenefit> Benefits);
