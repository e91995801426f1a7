using KavachPolar.Diagnostics;
using KavachPolar.Http;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace KavachPolar.Webhooks;

/// <summary>
/// Takes in one webhook request: each <c>webhook-*</c> header exactly once, the raw body (at most
/// <see cref="KavachPolarOptions.MaxWebhookBodyBytes"/>), Standard Webhooks verification over those bytes, then
/// dedup and processing within <see cref="KavachPolarOptions.WebhookProcessingTimeout"/>. Every refusal is logged
/// and counted; an accepted delivery is committed before this returns.
/// </summary>
internal sealed class WebhookIntake(
    IOptionsMonitor<KavachPolarOptions> options,
    WebhookVerifierProvider verifiers,
    WebhookProcessor processor,
    KavachPolarMetrics metrics,
    WebhookDeliveryClock deliveries,
    TimeProvider time,
    ILogger<WebhookIntake> logger)
{
    private static readonly TimeSpan SignatureWarningInterval = TimeSpan.FromMinutes(1);
    private long _signatureRefusals;
    private long _nextSignatureWarning = long.MinValue;

    private static readonly WebhookIntakeResult.Refused TooLarge = new(KavachPolarErrorCodes.BodyTooLarge, "The body is larger than KavachPolar:MaxWebhookBodyBytes.");
    private static readonly WebhookIntakeResult.Refused Incomplete = new(KavachPolarErrorCodes.BodyIncomplete, "The body ended before its Content-Length or took too long to arrive.");
    private static readonly WebhookIntakeResult.Refused Malformed = new(KavachPolarErrorCodes.MalformedHeaders, "The webhook headers are malformed.");
    private static readonly WebhookIntakeResult.Refused OutOfTolerance = new(KavachPolarErrorCodes.TimestampOutOfTolerance, "The webhook timestamp is outside the allowed tolerance; check this server's clock.");
    private static readonly WebhookIntakeResult.Refused BadSignature = new(KavachPolarErrorCodes.InvalidSignature, "No matching signature found.");
    private const string HeadersTitle = "The webhook-id, webhook-timestamp and webhook-signature headers must each appear exactly once.";

    public async Task<WebhookIntakeResult> ReceiveAsync(HttpRequest request, CancellationToken ct)
    {
        var current = options.CurrentValue;
        var max = current.MaxWebhookBodyBytes;
        if (request.ContentLength > max)
        {
            return Refuse(TooLarge);
        }

        if (!TryGetSingle(request.Headers, "webhook-id", out var id, out var idProblem)
            | !TryGetSingle(request.Headers, "webhook-timestamp", out var timestamp, out var tsProblem)
            | !TryGetSingle(request.Headers, "webhook-signature", out var signature, out var sigProblem))
        {
            return Refuse(new WebhookIntakeResult.Refused(idProblem ?? tsProblem ?? sigProblem!, HeadersTitle));
        }

        var read = await BodyReader.ReadAsync(request, max, ct).ConfigureAwait(false);
        if (read.Buffer is null)
        {
            return Refuse(read.Failure == BodyReader.Failure.TooLarge ? TooLarge : Incomplete);
        }

        try
        {
            var body = read.Buffer.AsMemory(0, read.Length);
            var verification = verifiers.Current.Verify(id, timestamp, signature, body.Span);
            if (!verification.IsValid)
            {
                return Refuse(verification.Status switch
                {
                    PolarWebhookVerificationStatus.MissingHeader or PolarWebhookVerificationStatus.MalformedHeader => Malformed,
                    PolarWebhookVerificationStatus.TimestampTooOld or PolarWebhookVerificationStatus.TimestampTooNew => OutOfTolerance,
                    _ => BadSignature,
                });
            }

            deliveries.Verified();

            // Parsed into memory of its own first: the abandoned work of a timed-out delivery may outlive the
            // pooled buffer.
            return await ProcessAsync(PolarWebhookEvent.Read(id!, body.Span), current.WebhookProcessingTimeout, ct).ConfigureAwait(false);
        }
        finally
        {
            BodyReader.Return(read.Buffer);
        }
    }

    private async Task<WebhookIntakeResult> ProcessAsync(PolarWebhookEvent delivery, TimeSpan budget, CancellationToken ct)
    {
        try
        {
            using var activity = KavachPolarTelemetry.ActivitySource.StartActivity("KavachPolar webhook");
            // The budget holds whatever the driver does (a hung server never answers a cancel request): the
            // 503 goes out at WebhookProcessingTimeout; if the abandoned work commits after all, Polar's retry
            // is a duplicate.
            var outcome = await processor.ProcessAsync(delivery, budget, ct).ConfigureAwait(false);
            activity?.SetTag("kavach_polar.outcome", outcome);
            metrics.CountWebhook(outcome);
            return new WebhookIntakeResult.Accepted(outcome);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, ct))
        {
            Log.WebhookStoreFailed(logger, e, delivery.WebhookId);
            metrics.CountWebhook("unavailable");
            return WebhookIntakeResult.StoreUnavailable.Instance;
        }
    }

    private WebhookIntakeResult.Refused Refuse(WebhookIntakeResult.Refused refusal)
    {
        if (ReferenceEquals(refusal, BadSignature))
        {
            // A wrong secret refuses every delivery (Polar retries each): say what to fix once, then once a minute.
            var refused = Interlocked.Increment(ref _signatureRefusals);
            var now = time.GetTimestamp();
            var next = Interlocked.Read(ref _nextSignatureWarning);
            if (now >= next && Interlocked.CompareExchange(ref _nextSignatureWarning, now + (long)(SignatureWarningInterval.TotalSeconds * time.TimestampFrequency), next) == next)
            {
                Log.WebhookSignatureMismatch(logger, refused);
            }
        }
        else
        {
            Log.WebhookRefused(logger, refusal.Code);
        }

        metrics.CountWebhook("refused");
        return refusal;
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
