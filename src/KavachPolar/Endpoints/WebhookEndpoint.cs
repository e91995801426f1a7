using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using KavachPolar.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace KavachPolar.Endpoints;

/// <summary>
/// <c>POST {base}/auth/polar/webhook</c>: Standard Webhooks verification over the raw bytes, then
/// dedup and processing in one transaction. 2xx only after commit; 503 when the database cannot
/// answer in time, so that Polar retries.
/// </summary>
internal static class WebhookEndpoint
{
    public static async Task<IResult> HandleAsync(
        HttpContext context,
        IOptionsMonitor<KavachPolarOptions> optionsMonitor,
        WebhookVerifierProvider verifiers,
        WebhookProcessor processor,
        KavachStore store,
        ILoggerFactory loggers)
    {
        var options = optionsMonitor.CurrentValue;
        var logger = loggers.CreateLogger(typeof(WebhookEndpoint));
        var max = options.MaxWebhookBodyBytes;
        if (context.Request.ContentLength > max)
        {
            return Refuse(logger, StatusCodes.Status413PayloadTooLarge, KavachPolarErrorCodes.BodyTooLarge, "The body is larger than KavachPolar:MaxWebhookBodyBytes.");
        }

        if (!TryGetSingle(context.Request.Headers, "webhook-id", out var id, out var idProblem)
            | !TryGetSingle(context.Request.Headers, "webhook-timestamp", out var timestamp, out var tsProblem)
            | !TryGetSingle(context.Request.Headers, "webhook-signature", out var signature, out var sigProblem))
        {
            var problem = idProblem ?? tsProblem ?? sigProblem!;
            return Refuse(logger, StatusCodes.Status400BadRequest, problem, "The webhook-id, webhook-timestamp and webhook-signature headers must each appear exactly once.");
        }

        byte[]? rented = null;
        try
        {
            var read = await BodyReader.ReadAsync(context.Request, max, context.RequestAborted).ConfigureAwait(false);
            if (read.Buffer is null)
            {
                return read.Failure == BodyReader.Failure.TooLarge
                    ? Refuse(logger, StatusCodes.Status413PayloadTooLarge, KavachPolarErrorCodes.BodyTooLarge, "The body is larger than KavachPolar:MaxWebhookBodyBytes.")
                    : Refuse(logger, StatusCodes.Status400BadRequest, KavachPolarErrorCodes.BodyIncomplete, "The body ended before its Content-Length or took too long to arrive.");
            }

            rented = read.Buffer;
            var length = read.Length;
            var body = rented.AsMemory(0, length);
            var verification = verifiers.Current.Verify(id, timestamp, signature, body.Span);
            if (!verification.IsValid)
            {
                return verification.Status switch
                {
                    PolarWebhookVerificationStatus.MissingHeader or PolarWebhookVerificationStatus.MalformedHeader =>
                        Refuse(logger, StatusCodes.Status400BadRequest, KavachPolarErrorCodes.MalformedHeaders, "The webhook headers are malformed."),
                    PolarWebhookVerificationStatus.TimestampTooOld or PolarWebhookVerificationStatus.TimestampTooNew =>
                        Refuse(logger, StatusCodes.Status403Forbidden, KavachPolarErrorCodes.TimestampOutOfTolerance, "The webhook timestamp is outside the allowed tolerance; check this server's clock."),
                    _ => Refuse(logger, StatusCodes.Status403Forbidden, KavachPolarErrorCodes.InvalidSignature, "No matching signature found."),
                };
            }

            // Parsed into memory of its own first: the abandoned work of a timed-out delivery may outlive the
            // pooled buffer.
            var delivery = WebhookProcessor.Read(id!, body.Span);
            try
            {
                using var activity = KavachPolarTelemetry.ActivitySource.StartActivity("KavachPolar webhook");
                // The budget holds whatever the driver does (a hung server never answers a cancel request): the
                // 503 goes out at WebhookProcessingTimeout; if the abandoned work commits after all, Polar's retry
                // is a duplicate.
                var outcome = await store.RunHotAsync(
                    options.WebhookProcessingTimeout,
                    (s, t) => processor.ProcessAsync(s, delivery, t),
                    context.RequestAborted).ConfigureAwait(false);
                activity?.SetTag("kavach_polar.outcome", outcome);
                KavachPolarTelemetry.CountWebhook(outcome);
                return TypedResults.Json(new WebhookAck(outcome), KavachJsonContext.Default.WebhookAck, statusCode: StatusCodes.Status202Accepted);
            }
            catch (Exception e) when (StoreFailures.IsStoreFailure(e, context.RequestAborted))
            {
                Log.WebhookStoreFailed(logger, e, id!);
                KavachPolarTelemetry.CountWebhook("unavailable");
                return KavachProblems.StoreUnavailable(context);
            }
        }
        finally
        {
            if (rented is not null)
            {
                BodyReader.Return(rented);
            }
        }
    }

    private static ProblemHttpResult Refuse(ILogger logger, int status, string code, string title)
    {
        Log.WebhookRefused(logger, code);
        KavachPolarTelemetry.CountWebhook("refused");
        return KavachProblems.Create(status, code, title);
    }

    private static bool TryGetSingle(IHeaderDictionary headers, string name, out string? value, out string? problem)
    {
        var values = headers[name];
        value = null;
        problem = null;
        if (StringValues.IsNullOrEmpty(values))
        {
            problem = KavachPolarErrorCodes.MissingHeader;
            return false;
        }

        if (values.Count > 1)
        {
            problem = KavachPolarErrorCodes.RepeatedHeader;
            return false;
        }

        value = values[0];
        if (string.IsNullOrEmpty(value))
        {
            problem = KavachPolarErrorCodes.MissingHeader;
            return false;
        }

        return true;
    }
}
