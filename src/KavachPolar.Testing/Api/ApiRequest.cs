using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>A matched API request: the HTTP context and the route's captured values.</summary>
internal sealed class ApiRequest(HttpContext context, IReadOnlyDictionary<string, string> values)
{
    public HttpContext Context { get; } = context;

    public IReadOnlyDictionary<string, string> Values { get; } = values;

    public IQueryCollection Query => Context.Request.Query;

    /// <summary>
    /// Reads the JSON body as FastAPI does: an empty body is a <c>missing</c> body, malformed JSON is
    /// <c>json_invalid</c>; both are 422 <c>RequestValidationError</c>.
    /// </summary>
    public async Task<JsonNode> ReadJsonBodyAsync()
    {
        using var buffer = new MemoryStream();
        await Context.Request.Body.CopyToAsync(buffer, Context.RequestAborted).ConfigureAwait(false);
        var errors = new ValidationErrors();
        if (buffer.Length == 0)
        {
            errors.Add("missing", ValidationErrors.Loc("body"), "Field required", null);
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        try
        {
            return JsonNode.Parse(buffer.ToArray()) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            errors.Add("json_invalid", ValidationErrors.Loc("body", (int)(e.BytePositionInLine ?? 0)), "JSON decode error", new JsonObject(),
                new JsonObject { ["error"] = "Expecting value" });
            throw PolarApiException.Validation("RequestValidationError", errors);
        }
    }
}
