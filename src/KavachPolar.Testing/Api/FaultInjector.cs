using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Answers the next matching API requests with Polar's error for a status, where Polar's rate limiter sits: after the
/// version, CORS and body-size checks, before the token and routing.
/// </summary>
internal sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly List<InjectedFault> _faults = [];

    public void Add(InjectedFault fault)
    {
        lock (_lock)
        {
            _faults.Add(fault);
        }
    }

    public InjectedFault? Take(string method, string path)
    {
        lock (_lock)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining > 0
                && string.Equals(f.Method.Method, method, StringComparison.OrdinalIgnoreCase)
                && path.StartsWith(f.PathPrefix, StringComparison.Ordinal));
            if (fault is null)
            {
                return null;
            }

            if (--fault.Remaining == 0)
            {
                _faults.Remove(fault);
            }

            return fault;
        }
    }

    /// <summary>Writes Polar's answer for the fault's status.</summary>
    public static async Task WriteAsync(HttpContext context, InjectedFault fault)
    {
        var response = context.Response;
        response.StatusCode = fault.StatusCode;
        switch (fault.StatusCode)
        {
            case 429:
                var seconds = (int)Math.Ceiling((fault.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds);
                response.Headers["retry-after"] = seconds.ToString(CultureInfo.InvariantCulture);
                return;
            case 401:
                await PolarApi.WriteInvalidTokenAsync(context).ConfigureAwait(false);
                return;
            case 403:
                response.Headers.WWWAuthenticate = "Bearer realm=\"polar\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", scope=\"openid\"";
                await WriteRawAsync(response, "application/json", "{\"error\": \"insufficient_scope\", \"error_description\": \"The request requires higher privileges than provided by the access token.\"}").ConfigureAwait(false);
                return;
            case 404:
                await WriteRawAsync(response, "application/json", PolarApiException.NotFound().Body).ConfigureAwait(false);
                return;
            case 400:
                await WriteRawAsync(response, "application/json", PolarApiException.Polar(400, "BadRequest", "Bad request").Body).ConfigureAwait(false);
                return;
            case 402:
                await WriteRawAsync(response, "application/json", PolarApiException.Polar(402, "PaymentFailed", "Payment failed.").Body).ConfigureAwait(false);
                return;
            case 422:
                var errors = new ValidationErrors();
                errors.Add("value_error", ValidationErrors.Loc("body"), "Value error, injected by the emulator.", null);
                await WriteRawAsync(response, "application/json", PolarApiException.Validation("PolarRequestValidationError", errors).Body).ConfigureAwait(false);
                return;
            case 409:
                // SubscriptionLocked is declared in Polar's schema but never raised (concurrent updates wait on row
                // locks); CheckoutCustomerDeleted is a 409 its checkout service does raise:
                // https://github.com/polarsource/polar/blob/main/server/polar/checkout/service.py
                await WriteRawAsync(response, "application/json", PolarApiException.Polar(409, "CheckoutCustomerDeleted", "The customer associated with this checkout has been deleted.").Body).ConfigureAwait(false);
                return;
            case 500:
                await WriteRawAsync(response, "text/plain; charset=utf-8", "Internal Server Error").ConfigureAwait(false);
                return;
            case >= 500:
                var reason = ReasonPhrases.GetReasonPhrase(fault.StatusCode);
                await WriteRawAsync(response, "text/html", $"<html><head><title>{fault.StatusCode} {reason}</title></head><body><h1>{fault.StatusCode} {reason}</h1></body></html>").ConfigureAwait(false);
                return;
            default:
                await WriteRawAsync(response, "application/json", PolarApiException.Polar(fault.StatusCode, "PolarError", ReasonPhrases.GetReasonPhrase(fault.StatusCode)).Body).ConfigureAwait(false);
                return;
        }
    }

    private static Task WriteRawAsync(HttpResponse response, string contentType, string body)
    {
        response.ContentType = contentType;
        return response.Body.WriteAsync(Encoding.UTF8.GetBytes(body)).AsTask();
    }
}
