using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using KavachPolar.Http;
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
            return (null, KavachProblems.Create(KavachPolarErrorCodes.UnsupportedMediaType, "Send the body as application/json."));
        }

        var read = await BodyReader.ReadAsync(context.Request, maxBytes, context.RequestAborted).ConfigureAwait(false);
        if (read.Buffer is null)
        {
            return (null, read.Failure == BodyReader.Failure.TooLarge
                ? TooLarge()
                : KavachProblems.Create(KavachPolarErrorCodes.BodyIncomplete, "The body ended before its Content-Length or took too long to arrive."));
        }

        try
        {
            return read.Length == 0 ? (null, null) : (JsonSerializer.Deserialize(read.Buffer.AsSpan(0, read.Length), type), null);
        }
        catch (JsonException)
        {
            return (null, Invalid(expectedShape));
        }
        finally
        {
            BodyReader.Return(read.Buffer);
        }
    }

    public static ProblemHttpResult Invalid(string expectedShape) =>
        KavachProblems.Create(KavachPolarErrorCodes.InvalidBody, "The body must be " + expectedShape + ".");

    private static ProblemHttpResult TooLarge() =>
        KavachProblems.Create(KavachPolarErrorCodes.BodyTooLarge, "The request body is too large.");
}
