using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.State;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Polar's REST API in the order Polar's stack applies it: rate limiting (injected faults),
/// the <c>Polar-Version</c> middleware, routing with FastAPI's slash redirects, authentication, then the operation.
/// </summary>
internal sealed partial class PolarApi
{
    /// <summary>The version used when a request names none: Current since 2026-10-01.</summary>
    public const string CurrentVersion = "2026-10";

    private const string InvalidTokenDescription = "The access token provided is expired, revoked, malformed, or invalid for other reasons.";

    private static readonly string[] KnownVersions = ["2026-04", "2026-10", "2027-01"];

    private readonly string _accessToken;
    private readonly FaultInjector _faults;
    private readonly List<ApiRoute> _routes;

    public PolarApi(EmulatorStore store, string accessToken, FaultInjector faults)
    {
        _accessToken = accessToken;
        _faults = faults;
        var checkouts = new CheckoutEndpoints(store);
        var subscriptions = new SubscriptionEndpoints(store);
        var customers = new CustomerEndpoints(store);
        _routes =
        [
            new("GET", "/v1/products/", r => Task.FromResult(ProductEndpoints.List(store, r))),
            new("GET", "/v1/products/{id}", r => Task.FromResult(ProductEndpoints.Get(store, r))),
            new("GET", "/v1/checkouts/", checkouts.ListAsync),
            new("POST", "/v1/checkouts/", checkouts.CreateAsync),
            new("GET", "/v1/checkouts/{id}", checkouts.GetAsync),
            new("PATCH", "/v1/checkouts/{id}", checkouts.UpdateAsync),
            new("GET", "/v1/subscriptions/", subscriptions.ListAsync),
            new("GET", "/v1/subscriptions/{id}", subscriptions.GetAsync),
            new("PATCH", "/v1/subscriptions/{id}", subscriptions.UpdateAsync),
            new("DELETE", "/v1/subscriptions/{id}", subscriptions.RevokeAsync),
            new("GET", "/v1/customers/", customers.ListAsync),
            new("POST", "/v1/customers/", customers.CreateAsync),
            new("DELETE", "/v1/customers/{id}", customers.DeleteAsync),
            new("GET", "/v1/customers/external/{external_id}", r => customers.GetAsync(r, external: true, state: false)),
            new("GET", "/v1/customers/external/{external_id}/state", r => customers.GetAsync(r, external: true, state: true)),
            new("GET", "/v1/customers/{id}", r => customers.GetAsync(r, external: false, state: false)),
            new("GET", "/v1/customers/{id}/state", r => customers.GetAsync(r, external: false, state: true)),
            new("POST", "/v1/customer-sessions/", customers.CreateSessionAsync),
            new("GET", "/v1/orders/{id}", r => Task.FromResult(ProductEndpoints.GetOrder(store, r))),
        ];
    }

    /// <summary>Whether <paramref name="path"/> belongs to the API (everything under <c>/v1</c>).</summary>
    public static bool IsApiPath(PathString path) => path.StartsWithSegments("/v1", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // Polar's router decodes %2F before matching (Kestrel keeps it encoded), so an id containing '/' becomes two
        // path segments, and /v1/customers/external/{id} cannot find it.
        var path = (request.Path.Value ?? "/").Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        if (_faults.Take(request.Method, path) is { } fault)
        {
            await FaultInjector.WriteAsync(context, fault).ConfigureAwait(false);
            return;
        }

        // kit/versioning.py: a malformed, unknown or removed version is a plain 404 before routing.
        var version = CurrentVersion;
        if (request.Headers.TryGetValue("Polar-Version", out var requested) && requested.ToString().Length > 0)
        {
            // An empty header falls back to the default version, as Polar's versioning does.
            var value = requested.ToString();
            if (!VersionPattern().IsMatch(value) || !KnownVersions.Contains(value))
            {
                await WriteNotFoundRouteAsync(context).ConfigureAwait(false);
                return;
            }

            version = value;
        }

        context.Response.Headers["Polar-Version"] = version;

        // Polar's authentication middleware refuses an invalid bearer token before routing (401 even on a
        // wrong path); a missing token is refused by the route's dependency, after routing.
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && authorization[7..].Trim() is { Length: > 0 } presented
            && !string.Equals(presented, _accessToken, StringComparison.Ordinal))
        {
            await WriteInvalidTokenAsync(context).ConfigureAwait(false);
            return;
        }

        var (route, values, allowed) = Resolve(request.Method, path);
        if (route is null)
        {
            if (allowed.Count > 0)
            {
                context.Response.StatusCode = 405;
                context.Response.Headers.Allow = string.Join(", ", allowed);
                await WriteJsonAsync(context, 405, new JsonObject { ["detail"] = "Method Not Allowed" }).ConfigureAwait(false);
                return;
            }

            // Starlette's redirect_slashes: the other spelling of a known route answers 307.
            var other = path.EndsWith('/') ? path.TrimEnd('/') : path + "/";
            if (other.Length > 0 && Resolve(request.Method, other).Route is not null)
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = $"{request.Scheme}://{request.Host}{request.PathBase}{other}{request.QueryString}";
                return;
            }

            await WriteNotFoundRouteAsync(context).ConfigureAwait(false);
            return;
        }

        if (!await AuthenticateAsync(context).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var result = await route.Handler(new ApiRequest(context, values!)).ConfigureAwait(false);
            if (result.Body is null)
            {
                context.Response.StatusCode = result.Status;
                return;
            }

            await WriteJsonAsync(context, result.Status, result.Body).ConfigureAwait(false);
        }
        catch (PolarApiException e)
        {
            await WriteRawJsonAsync(context, e.StatusCode, e.Body).ConfigureAwait(false);
        }
    }

    private (ApiRoute? Route, Dictionary<string, string>? Values, List<string> Allowed) Resolve(string method, string path)
    {
        var allowed = new List<string>();
        foreach (var route in _routes)
        {
            var values = route.Match(path);
            if (values is null)
            {
                continue;
            }

            // Starlette answers HEAD wherever GET is routed.
            if (string.Equals(route.Method, method, StringComparison.OrdinalIgnoreCase) || (route.Method == "GET" && HttpMethods.IsHead(method)))
            {
                return (route, values, allowed);
            }

            allowed.Add(route.Method);
        }

        return (null, null, allowed);
    }

    /// <summary>No bearer token and a wrong token have different shapes.</summary>
    private async Task<bool> AuthenticateAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"polar\"";
            await WriteRawJsonAsync(context, 401, "{\"error\":\"Unauthorized\",\"detail\":\"Unauthorized\"}").ConfigureAwait(false);
            return false;
        }

        var token = header[scheme.Length..].Trim();
        if (!string.Equals(token, _accessToken, StringComparison.Ordinal))
        {
            await WriteInvalidTokenAsync(context).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>authlib's <c>invalid_token</c> 401: <c>json.dumps</c> with its spaces, and the challenge header.</summary>
    public static Task WriteInvalidTokenAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"polar\", error=\"invalid_token\", error_description=\"{InvalidTokenDescription}\"";
        return WriteRawJsonAsync(context, 401, $"{{\"error\": \"invalid_token\", \"error_description\": \"{InvalidTokenDescription}\"}}");
    }

    public static Task WriteNotFoundRouteAsync(HttpContext context) => WriteRawJsonAsync(context, 404, "{\"detail\":\"Not Found\"}");

    public static Task WriteJsonAsync(HttpContext context, int status, JsonNode body) => WriteRawJsonAsync(context, status, PolarJson.Serialize(body));

    public static async Task WriteRawJsonAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}
