using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Polar's <c>MaxBodySizeMiddleware</c> (<c>server/polar/middlewares.py</c>, since polarsource/polar#12961): a POST, PUT or
/// PATCH without <c>Content-Length</c> (a chunked body, or none framed at all) is 411, any request declaring more than
/// <c>API_MAX_REQUEST_BODY_SIZE</c> (10 MiB) is 413, both before the rate limiter, the token and routing. The bodies come
/// from Python's <c>json.dumps</c>, with its spaces.
/// </summary>
internal static class BodySize
{
    public const long Limit = 10 * 1024 * 1024;

    public static async Task<bool> TryRefuseAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Headers.ContentLength is not { } length)
        {
            if (request.Method is not ("POST" or "PUT" or "PATCH"))
            {
                return false;
            }

            await PolarApi.WriteRawJsonAsync(context, 411, "{\"error\": \"LengthRequired\", \"detail\": \"A Content-Length header is required.\"}").ConfigureAwait(false);
            return true;
        }

        if (length <= Limit)
        {
            return false;
        }

        await PolarApi.WriteRawJsonAsync(context, 413,
            $"{{\"error\": \"RequestBodyTooLarge\", \"detail\": \"Request body exceeded the maximum allowed size of {Limit} bytes.\"}}").ConfigureAwait(false);
        return true;
    }
}
