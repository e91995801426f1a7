using KavachPolar.Webhooks;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/webhook</c>: <see cref="WebhookIntake"/> verifies and processes the delivery; this maps
/// what it says to HTTP. 2xx only after commit; 503 when the database cannot answer in time, so that Polar retries.
/// </summary>
internal static class WebhookEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, WebhookIntake intake) =>
        await intake.ReceiveAsync(context.Request, context.RequestAborted).ConfigureAwait(false) switch
        {
            WebhookIntakeResult.Accepted accepted => TypedResults.Json(new WebhookAck(accepted.Outcome), KavachJsonContext.Default.WebhookAck, statusCode: StatusCodes.Status202Accepted),
            WebhookIntakeResult.Refused refused => KavachProblems.Create(refused.Code, refused.Title),
            _ => KavachProblems.StoreUnavailable(context),
        };
}
