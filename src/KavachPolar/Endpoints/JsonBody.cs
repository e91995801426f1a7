using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KavachPolar.Endpoints;

/// <summary>Reads a small JSON request body with a hard size limit, whatever Content-Length says.</summary>
internal static class JsonBody
{
    /// <summary>
    /// Returns the body (null when empty), or the problem to answer: 415 when not JSON, 413 when larger
    /// than <paramref name="maxBytes"/>, 400 <c>invalid_body</c> when it does not parse.
    /// </summary>
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, int maxBytes, string expectedShape)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            return (null, KavachProblems.Create(StatusCodes.Status415UnsupportedMediaType, KavachPolarErrorCodes.UnsupportedMediaType, "Send the body as application/json."));
        }

        if (context.Request.ContentLength > maxBytes)
        {
            return (null, TooLarge());
        }

        using var body = new MemoryStream();
        var buffer = new byte[1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (body.Length + read > maxBytes)
            {
                return (null, TooLarge());
            }

            body.Write(buffer, 0, read);
        }

        if (body.Length == 0)
        {
            return (null, null);
        }

        try
        {
            return (JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), type), null);
        }
        catch (JsonException)
        {
            return (null, Invalid(expectedShape));
        }
    }

    public static ProblemHttpResult Invalid(string expectedShape) =>
        KavachProblems.Create(StatusCodes.Status400BadRequest, KavachPolarErrorCodes.InvalidBody, "The body must be " + expectedShape + ".");

    private static ProblemHttpResult TooLarge() =>
        KavachProblems.Create(StatusCodes.Status413PayloadTooLarge, KavachPolarErrorCodes.BodyTooLarge, "The request body is too large.");
}
