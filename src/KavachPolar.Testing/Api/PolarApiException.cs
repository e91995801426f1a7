using System.Text.Json.Nodes;
using KavachPolar.Testing.Json;

namespace KavachPolar.Testing.Api;

/// <summary>An error answer in one of Polar's shapes, thrown by handlers and the store.</summary>
internal sealed class PolarApiException : Exception
{
    public PolarApiException()
    {
        Body = "";
    }

    public PolarApiException(string message)
        : base(message)
    {
        Body = "";
    }

    public PolarApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Body = "";
    }

    private PolarApiException(int statusCode, string body, string message)
        : base(message)
    {
        StatusCode = statusCode;
        Body = body;
    }

    public int StatusCode { get; }

    /// <summary>The exact response body.</summary>
    public string Body { get; }

    /// <summary>A <c>PolarError</c>: <c>{"error":"ClassName","detail":"message"}</c>.</summary>
    public static PolarApiException Polar(int statusCode, string error, string detail) =>
        new(statusCode, PolarJson.Serialize(new JsonObject { ["error"] = error, ["detail"] = detail }), $"{error}: {detail}");

    /// <summary>An answer whose body is given as it is sent, e.g. FastAPI's own <c>{"detail":"..."}</c>.</summary>
    public static PolarApiException Raw(int statusCode, string body) => new(statusCode, body, body);

    /// <summary>404 <c>ResourceNotFound</c>.</summary>
    public static PolarApiException NotFound() => Polar(404, "ResourceNotFound", "Not found");

    /// <summary>A 422 with a list of validation errors.</summary>
    /// <param name="error"><c>RequestValidationError</c> (pydantic) or <c>PolarRequestValidationError</c> (service checks).</param>
    /// <param name="errors">The <c>detail</c> items.</param>
    public static PolarApiException Validation(string error, ValidationErrors errors)
    {
        var detail = errors.ToJson();
        return new(422, PolarJson.Serialize(new JsonObject { ["error"] = error, ["detail"] = detail }), $"{error}: {PolarJson.Serialize(detail)}");
    }

    /// <summary>A 422 <c>PolarRequestValidationError</c> with one <c>value_error</c>.</summary>
    public static PolarApiException BusinessValidation(JsonArray loc, string msg, JsonNode? input)
    {
        var errors = new ValidationErrors();
        errors.Add("value_error", loc, msg, input);
        return Validation("PolarRequestValidationError", errors);
    }
}
