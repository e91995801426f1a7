using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// A matched API request: the HTTP context, the route's captured values and the body as FastAPI read it before
/// the route's dependencies ran (see <see cref="RequestBody"/>).
/// </summary>
internal sealed class ApiRequest(HttpContext context, IReadOnlyDictionary<string, string> values, JsonNode? body)
{
    public HttpContext Context { get; } = context;

    public IReadOnlyDictionary<string, string> Values { get; } = values;

    public IQueryCollection Query => Context.Request.Query;

    /// <summary>
    /// The body for validation: an absent, empty or JSON <c>null</c> body is a <c>missing</c> body, a 422
    /// <c>RequestValidationError</c> found only now, after authentication, as FastAPI finds it.
    /// </summary>
    public Task<JsonNode> ReadJsonBodyAsync()
    {
        if (body is null)
        {
            var errors = new ValidationErrors();
            errors.Add("missing", ValidationErrors.Loc("body"), "Field required", null);
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return Task.FromResult(body);
    }
}
