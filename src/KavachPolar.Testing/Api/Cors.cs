using System.Text;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Polar's <c>CORSMatcherMiddleware</c> (<c>server/polar/kit/cors.py</c> over Starlette's <c>CORSMiddleware</c>) with the
/// configuration <c>app.py</c> gives every origin but Polar's own dashboard: any origin, any method, the headers
/// <c>Authorization</c> and <c>Polar-Version</c> besides the CORS-safelisted ones, no credentials. It sits inside the
/// <c>Polar-Version</c> check and outside everything else, so a preflight is answered before the body size, the token
/// and routing are looked at.
/// </summary>
internal static class Cors
{
    private const string AllowedMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

    // Starlette sorts the safelisted headers and the configured ones together.
    private const string AllowedHeaders = "Accept, Accept-Language, Authorization, Content-Language, Content-Type, Polar-Version";

    private static readonly string[] AllowedMethodList = AllowedMethods.Split(", ");
    private static readonly HashSet<string> AllowedHeaderSet = new(AllowedHeaders.ToLowerInvariant().Split(", "), StringComparer.Ordinal);

    /// <summary>
    /// Answers a preflight (an <c>OPTIONS</c> with <c>Origin</c> and <c>Access-Control-Request-Method</c>): 200 <c>OK</c>,
    /// or 400 naming what is not allowed. Any other request with an <c>Origin</c> gets the simple-response headers on
    /// whatever answers it, refusals included.
    /// </summary>
    public static async Task<bool> TryAnswerAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Headers.TryGetValue("Origin", out var origin) || origin.Count == 0)
        {
            return false;
        }

        var headers = context.Response.Headers;
        if (request.Method != "OPTIONS" || !request.Headers.ContainsKey("Access-Control-Request-Method"))
        {
            headers.AccessControlAllowOrigin = "*";
            headers.AccessControlExposeHeaders = "Polar-Version";
            return false;
        }

        var failures = new List<string>();
        if (!AllowedMethodList.Contains(request.Headers.AccessControlRequestMethod.ToString(), StringComparer.Ordinal))
        {
            failures.Add("method");
        }

        if (request.Headers.TryGetValue("Access-Control-Request-Headers", out var requested)
            && requested.ToString().Split(',').Any(h => !AllowedHeaderSet.Contains(h.ToLowerInvariant().Trim())))
        {
            failures.Add("headers");
        }

        if (request.Headers.ContainsKey("Access-Control-Request-Private-Network"))
        {
            failures.Add("private-network");
        }

        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlAllowMethods = AllowedMethods;
        headers.AccessControlMaxAge = "600";
        headers.AccessControlAllowHeaders = AllowedHeaders;
        var text = failures.Count == 0 ? "OK" : "Disallowed CORS " + string.Join(", ", failures);
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.StatusCode = failures.Count == 0 ? 200 : 400;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        return true;
    }
}
