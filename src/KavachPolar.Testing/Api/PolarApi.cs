using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.State;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Polar's REST API behind the checks Polar's server runs before an endpoint, in the order <c>server/polar/app.py</c>
/// wires them (Starlette runs the last-added middleware first; see docs/polar-facts.md): the <c>Polar-Version</c>
/// middleware, CORS, the body size, the rate limiter (injected faults), the bearer token, <c>Cache-Control</c>, the
/// router with its slash redirects, FastAPI's body decoding, the route's authentication, then the operation.
/// </summary>
internal sealed partial class PolarApi
{
    /// <summary>The version used when a request names none: Current since 2026-10-01.</summary>
    public const string CurrentVersion = "2026-10";

    private const string InvalidTokenDescription = "The access token provided is expired, revoked, malformed, or invalid for other reasons.";

    private static readonly string[] KnownVersions = ["2026-04", "2026-10", "2027-01"];

    private readonly EmulatorStore _store;
    private readonly FaultInjector _faults;
    private readonly List<ApiRoute> _routes;

    /// <summary>Every organization access token the API accepts, with its scopes.</summary>
    private readonly ConcurrentDictionary<string, IReadOnlySet<string>> _tokens = new(StringComparer.Ordinal);

    public PolarApi(EmulatorStore store, string accessToken, FaultInjector faults, WebhookDispatcher webhooks)
    {
        _store = store;
        _faults = faults;
        _tokens[accessToken] = new HashSet<string>(Scopes.All, StringComparer.Ordinal);
        var checkouts = new CheckoutEndpoints(store);
        var subscriptions = new SubscriptionEndpoints(store);
        var customers = new CustomerEndpoints(store);
        var endpoints = new WebhookEndpointEndpoints(store, webhooks);
        var benefits = new BenefitEndpoints(store);
        var events = new EventEndpoints(store);
        var meters = new MeterEndpoints(store);
        var orders = new OrderEndpoints(store);
        // The scopes each route's Authenticator requires (server/polar/<module>/auth.py): any one of them will do.
        string[] productsRead = ["products:read", "products:write"], checkoutsRead = ["checkouts:read", "checkouts:write"], checkoutsWrite = ["checkouts:write"];
        string[] subscriptionsRead = ["subscriptions:read", "subscriptions:write"], subscriptionsWrite = ["subscriptions:write"];
        string[] customersRead = ["customers:read", "customers:write"], customersWrite = ["customers:write"];
        // In the order of Polar's endpoint modules: on a path with several methods, the first one answers 405.
        _routes =
        [
            new("GET", "/v1/organizations/{id}", ["organizations:read", "organizations:write"], r => Task.FromResult(OrganizationEndpoints.Get(store, r))),
            new("GET", "/v1/products/", productsRead, r => Task.FromResult(ProductEndpoints.List(store, r))),
            new("GET", "/v1/products/{id}", productsRead, r => Task.FromResult(ProductEndpoints.Get(store, r))),
            new("GET", "/v1/checkouts/", checkoutsRead, checkouts.ListAsync),
            new("POST", "/v1/checkouts/", checkoutsWrite, checkouts.CreateAsync),
            new("GET", "/v1/checkouts/{id}", checkoutsRead, checkouts.GetAsync),
            new("PATCH", "/v1/checkouts/{id}", checkoutsWrite, checkouts.UpdateAsync),
            new("GET", "/v1/subscriptions/", subscriptionsRead, subscriptions.ListAsync),
            new("GET", "/v1/subscriptions/{id}", subscriptionsRead, subscriptions.GetAsync),
            new("PATCH", "/v1/subscriptions/{id}", subscriptionsWrite, subscriptions.UpdateAsync),
            new("DELETE", "/v1/subscriptions/{id}", subscriptionsWrite, subscriptions.RevokeAsync),
            new("GET", "/v1/customers/", customersRead, customers.ListAsync),
            new("POST", "/v1/customers/", customersWrite, customers.CreateAsync),
            new("GET", "/v1/customers/{id}", customersRead, r => customers.GetAsync(r, external: false, state: false)),
            new("GET", "/v1/customers/external/{external_id}", customersRead, r => customers.GetAsync(r, external: true, state: false)),
            new("GET", "/v1/customers/{id}/state", customersRead, r => customers.GetAsync(r, external: false, state: true)),
            new("GET", "/v1/customers/external/{external_id}/state", customersRead, r => customers.GetAsync(r, external: true, state: true)),
            new("DELETE", "/v1/customers/{id}", customersWrite, customers.DeleteAsync),
            new("POST", "/v1/customer-sessions/", ["customer_sessions:write"], customers.CreateSessionAsync),
            // order/auth.py: OrdersRead takes orders:read only (not orders:write), and POST /{id}/invoice is behind it too.
            new("GET", "/v1/orders/", ["orders:read"], orders.ListAsync),
            new("GET", "/v1/orders/{id}", ["orders:read"], orders.GetAsync),
            new("POST", "/v1/orders/{id}/invoice", ["orders:read"], orders.GenerateInvoiceAsync),
            new("GET", "/v1/orders/{id}/invoice", ["orders:read"], orders.GetInvoiceAsync),
            // refund/auth.py.
            new("GET", "/v1/refunds/", ["refunds:read", "refunds:write"], orders.ListRefundsAsync),
            new("POST", "/v1/refunds/", ["refunds:write"], orders.CreateRefundAsync),
            // benefit/endpoints.py and benefit/grant/endpoints.py: read with benefits:read or benefits:write.
            new("GET", "/v1/benefits/", ["benefits:read", "benefits:write"], benefits.ListAsync),
            new("GET", "/v1/benefits/{id}", ["benefits:read", "benefits:write"], benefits.GetAsync),
            new("GET", "/v1/benefits/{id}/grants", ["benefits:read", "benefits:write"], benefits.ListGrantsOfBenefitAsync),
            new("GET", "/v1/benefit-grants/", ["benefits:read", "benefits:write"], benefits.ListGrantsAsync),
            // webhook/endpoints.py: the collection has no trailing slash.
            new("GET", "/v1/webhooks/endpoints", ["webhooks:read", "webhooks:write"], r => Task.FromResult(endpoints.List(r))),
            new("GET", "/v1/webhooks/endpoints/{id}", ["webhooks:read", "webhooks:write"], r => Task.FromResult(endpoints.Get(r))),
            // event/endpoints.py: ingest has no trailing slash; meters and customer meters (issue 25).
            new("POST", "/v1/events/ingest", ["events:write"], events.IngestAsync),
            new("GET", "/v1/meters/", ["meters:read", "meters:write"], meters.ListMetersAsync),
            new("GET", "/v1/meters/{id}", ["meters:read", "meters:write"], meters.GetMeterAsync),
            new("GET", "/v1/customer-meters/", ["customer_meters:read"], meters.ListCustomerMetersAsync),
            new("GET", "/v1/customer-meters/{id}", ["customer_meters:read"], meters.GetCustomerMeterAsync),
        ];
    }

    /// <summary>
    /// Creates another organization access token of the emulated organization, with only <paramref name="scopes"/>.
    /// </summary>
    public string AddToken(IReadOnlySet<string> scopes)
    {
        var token = Ids.NewToken("polar_oat_");
        _tokens[token] = scopes;
        return token;
    }

    /// <summary>Whether <paramref name="path"/> belongs to the API (everything under <c>/v1</c>).</summary>
    public static bool IsApiPath(PathString path) => path.StartsWithSegments("/v1", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // Polar's router decodes %2F before matching (Kestrel keeps it encoded), so an id containing '/' becomes two
        // path segments, and /v1/customers/external/{id} cannot find it.
        var path = (request.Path.Value ?? "/").Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

        // APIVersionMiddleware (kit/versioning.py), added last and so outermost: a malformed, unknown or removed
        // version is a plain 404 before anything else; every other answer echoes the version.
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

        // CORSMatcherMiddleware, then MaxBodySizeMiddleware (411, 413): before the rate limiter, the token and routing.
        if (await Cors.TryAnswerAsync(context).ConfigureAwait(false) || await BodySize.TryRefuseAsync(context).ConfigureAwait(false))
        {
            return;
        }

        // The rate limiter (asgi-ratelimit) sits here; the emulator's injected faults stand in for it.
        if (_faults.Take(request.Method, path) is { } fault)
        {
            await FaultInjector.WriteAsync(context, fault).ConfigureAwait(false);
            return;
        }

        // AuthSubjectMiddleware refuses a bearer token it cannot find before routing (401 even on a wrong path); no
        // token, or one that is not an organization's, is refused by the route's dependency, after routing.
        var (credential, scopes) = Authenticate(request);
        if (credential == Credential.Invalid)
        {
            await WriteInvalidTokenAsync(context).ConfigureAwait(false);
            return;
        }

        // CacheControlMiddleware: every answer from here in (routing's included) is private.
        context.Response.Headers.CacheControl = "private, no-store";

        var (route, values, allowed) = Resolve(request.Method, path);
        if (route is null)
        {
            if (allowed is not null)
            {
                // Starlette's partial match: the first route of this path answers, naming its own methods only.
                context.Response.Headers.Allow = allowed;
                await WriteJsonAsync(context, 405, new JsonObject { ["detail"] = "Method Not Allowed" }).ConfigureAwait(false);
                return;
            }

            // Starlette's redirect_slashes: the other spelling of a routed path answers 307, whatever its methods.
            var other = path.EndsWith('/') ? path.TrimEnd('/') : path + "/";
            if (other.Length > 0 && _routes.Any(r => r.Match(other) is not null))
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = $"{request.Scheme}://{request.Host}{request.PathBase}{other}{request.QueryString}";
                return;
            }

            await WriteNotFoundRouteAsync(context).ConfigureAwait(false);
            return;
        }

        try
        {
            // FastAPI reads and decodes the body before it solves the route's dependencies, authentication included.
            var body = route.Method is "POST" or "PATCH" ? await RequestBody.ReadAsync(context).ConfigureAwait(false) : null;
            if (credential != Credential.Organization)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"polar\"";
                await WriteRawJsonAsync(context, 401, "{\"error\":\"Unauthorized\",\"detail\":\"Unauthorized\"}").ConfigureAwait(false);
                return;
            }

            // The same dependency, once the subject is an organization: a token without one of the route's scopes is
            // refused before the route's path, query and body are validated.
            if (!route.Allows(scopes!))
            {
                await Scopes.WriteInsufficientScopeAsync(context, route.Scopes).ConfigureAwait(false);
                return;
            }

            var result = await route.Handler(new ApiRequest(context, values!, body)).ConfigureAwait(false);
            if (result.NullBody)
            {
                await WriteRawJsonAsync(context, result.Status, "null").ConfigureAwait(false);
                return;
            }

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

    /// <summary>
    /// Starlette's router: the first route matching path and method, else the methods of the first route matching the
    /// path alone (FastAPI routes list only their own method: HEAD is not answered where GET is).
    /// </summary>
    private (ApiRoute? Route, Dictionary<string, string>? Values, string? Allowed) Resolve(string method, string path)
    {
        string? allowed = null;
        foreach (var route in _routes)
        {
            var values = route.Match(path);
            if (values is null)
            {
                continue;
            }

            if (string.Equals(route.Method, method, StringComparison.Ordinal))
            {
                return (route, values, null);
            }

            allowed ??= route.Method;
        }

        return (null, null, allowed);
    }

    private enum Credential
    {
        /// <summary>No bearer token: no header, another scheme, an empty or non-ASCII value.</summary>
        None,

        /// <summary>A token Polar knows but that is no organization's (a customer session, a client registration token).</summary>
        OtherSubject,

        /// <summary>The organization access token.</summary>
        Organization,

        /// <summary>A token Polar cannot find: refused before routing.</summary>
        Invalid,
    }

    /// <summary>
    /// <c>auth/middlewares.py</c> <c>get_bearer_token</c> and <c>get_auth_subject</c>: the scheme is the text before the
    /// first space (any case), the token the rest, trimmed; <c>polar_crt_</c> tokens are anonymous; a live customer
    /// session is a customer, whom organization routes treat as anonymous.
    /// </summary>
    private (Credential Credential, IReadOnlySet<string>? Scopes) Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.FirstOrDefault() ?? "";
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? header : header[..space];
        var token = space < 0 ? "" : header[(space + 1)..].Trim();
        if (scheme.Length == 0 || token.Length == 0 || !string.Equals(scheme, "bearer", StringComparison.OrdinalIgnoreCase) || !Ascii.IsValid(token))
        {
            return (Credential.None, null);
        }

        if (_tokens.TryGetValue(token, out var scopes))
        {
            return (Credential.Organization, scopes);
        }

        return (token.StartsWith("polar_crt_", StringComparison.Ordinal) || _store.IsLiveCustomerSession(token) ? Credential.OtherSubject : Credential.Invalid, null);
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
