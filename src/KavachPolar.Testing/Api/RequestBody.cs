using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Reads a route's body as FastAPI's request handler does, before the route's dependencies (authentication
/// included) run: so a body that is not JSON at all is refused even without a token.
/// </summary>
internal static class RequestBody
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The body to validate: <see langword="null"/> when empty or JSON <c>null</c> (FastAPI's "missing", reported after
    /// authentication); the raw text as a string when the <c>Content-Type</c> is not JSON (FastAPI's strict content type:
    /// no header counts as not JSON, and validation then fails on the text); otherwise the parsed JSON.
    /// </summary>
    /// <exception cref="PolarApiException">422 <c>json_invalid</c> for malformed JSON; 400 when the bytes are not UTF-8.</exception>
    public static async Task<JsonNode?> ReadAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        if (bytes.Length == 0)
        {
            return null;
        }

        if (!IsJson(context.Request.ContentType))
        {
            return JsonValue.Create(Encoding.UTF8.GetString(bytes));
        }

        string text;
        try
        {
            // Python's json.loads decodes the bytes first (a UTF-8 BOM is allowed); bytes that do not decode are not a
            // JSON error but "There was an error parsing the body".
            var start = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
            text = StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException)
        {
            throw PolarApiException.Raw(400, "{\"detail\":\"There was an error parsing the body\"}");
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            var errors = new ValidationErrors();
            errors.Add("json_invalid", ValidationErrors.Loc("body", (int)(e.BytePositionInLine ?? 0)), "JSON decode error", new JsonObject(),
                new JsonObject { ["error"] = "Expecting value" });
            throw PolarApiException.Validation("RequestValidationError", errors);
        }
    }

    /// <summary>
    /// FastAPI parses JSON only for <c>application/json</c> and <c>application/*+json</c>, read as Python's
    /// <c>email.message</c> reads a media type: lower-cased, parameters dropped, anything without exactly one '/'
    /// counting as <c>text/plain</c>.
    /// </summary>
    internal static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var type = contentType.Split(';', 2)[0].Trim().ToLowerInvariant();
        var parts = type.Split('/');
        return parts.Length == 2 && parts[0] == "application" && (parts[1] == "json" || parts[1].EndsWith("+json", StringComparison.Ordinal));
    }
}
