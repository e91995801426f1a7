using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using KavachPolar.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Polar;

/// <summary>
/// Polar's REST API over a typed <see cref="HttpClient"/>. Paths are spelled exactly as Polar routes
/// them (collections end with '/', items do not) because Polar answers the other spelling with a 307 redirect,
/// and following it would drop the bearer token; redirects are never followed.
/// </summary>
internal sealed partial class PolarApiClient(HttpClient http, IOptionsMonitor<KavachPolarOptions> options, TimeProvider time, ILogger<PolarApiClient> logger)
{
    /// <summary>The API version pinned on every request (<c>Polar-Version</c> header; Polar's 2026 API versioning).</summary>
    public const string ApiVersion = "2026-10";

    public static readonly Uri ProductionApi = new("https://api.polar.sh/");
    public static readonly Uri SandboxApi = new("https://sandbox-api.polar.sh/");

    public static Uri ResolveBaseAddress(KavachPolarOptions o)
    {
        var uri = o.ApiBaseUrl ?? (o.Sandbox ? SandboxApi : ProductionApi);
        var text = uri.AbsoluteUri.TrimEnd('/');
        // Every path this client sends starts with v1/: a root that already ends with /v1 (as an API URL is often
        // written) would double it into /v1/v1/.
        if (text.EndsWith("/v1", StringComparison.OrdinalIgnoreCase))
        {
            text = text[..^3];
        }

        return new Uri(text + "/");
    }

    /// <summary>
    /// The live customer whose <c>external_id</c> is <paramref name="externalId"/>, or <see langword="null"/>.
    /// Polar's <c>/v1/customers/external/{id}</c> route takes one path segment (its router decodes <c>%2F</c>
    /// before matching), so an id containing '/' is found through the list's <c>query</c> filter (external ids
    /// that start with it) and an exact match.
    /// </summary>
    public async Task<PolarResult<PolarCustomer?>> FindCustomerByExternalIdAsync(string externalId, CancellationToken ct)
    {
        if (externalId.Contains('/', StringComparison.Ordinal))
        {
            return await FindCustomerAsync("query", externalId, c => c.ExternalId == externalId, ct).ConfigureAwait(false);
        }

        var result = await SendAsync(HttpMethod.Get, "v1/customers/external/" + PathSegment(externalId), null, PolarJsonContext.Default.PolarCustomer, ct).ConfigureAwait(false);
        if (result.Error is { Kind: PolarErrorKind.NotFound })
        {
            return PolarResult<PolarCustomer?>.Success(null);
        }

        return new PolarResult<PolarCustomer?>(result.Value is { DeletedAt: null } ? result.Value : null, result.Error);
    }

    /// <summary>The live customer with this email (Polar matches emails case-insensitively), or <see langword="null"/>.</summary>
    public Task<PolarResult<PolarCustomer?>> FindCustomerByEmailAsync(string email, CancellationToken ct) =>
        FindCustomerAsync("email", email, c => string.Equals(c.Email, email, StringComparison.OrdinalIgnoreCase), ct);

    private async Task<PolarResult<PolarCustomer?>> FindCustomerAsync(string filter, string value, Func<PolarCustomer, bool> match, CancellationToken ct)
    {
        for (var page = 1; ; page++)
        {
            var path = new StringBuilder("v1/customers/?limit=100&page=").Append(page.ToString(CultureInfo.InvariantCulture))
                .Append('&').Append(filter).Append('=').Append(Uri.EscapeDataString(value));
            AppendOrganization(path);
            var result = await SendAsync(HttpMethod.Get, path.ToString(), null, PolarJsonContext.Default.PolarCustomerList, ct).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                return PolarResult<PolarCustomer?>.Failure(result.Error!);
            }

            var found = result.Value!.Items.FirstOrDefault(c => c.DeletedAt is null && match(c));
            if (found is not null || page >= result.Value.Pagination.MaxPage || result.Value.Items.Count == 0)
            {
                return PolarResult<PolarCustomer?>.Success(found);
            }
        }
    }

    public Task<PolarResult<PolarCustomer>> CreateCustomerAsync(PolarCustomerCreate body, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "v1/customers/", JsonBody(body, PolarJsonContext.Default.PolarCustomerCreate), PolarJsonContext.Default.PolarCustomer, ct);

    public Task<PolarResult<PolarCheckout>> CreateCheckoutAsync(PolarCheckoutCreate body, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "v1/checkouts/", JsonBody(body, PolarJsonContext.Default.PolarCheckoutCreate), PolarJsonContext.Default.PolarCheckout, ct);

    public Task<PolarResult<PolarCheckout>> GetCheckoutAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/checkouts/" + PathSegment(id), null, PolarJsonContext.Default.PolarCheckout, ct);

    /// <summary>The subscription as Polar holds it now (<c>GET /v1/subscriptions/{id}</c>).</summary>
    public Task<PolarResult<PolarSubscription>> GetSubscriptionAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/subscriptions/" + PathSegment(id), null, PolarJsonContext.Default.PolarSubscription, ct);

    public Task<PolarResult<PolarSubscription>> SetCancelAtPeriodEndAsync(string id, bool cancel, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, "v1/subscriptions/" + PathSegment(id), JsonBody(new PolarSubscriptionCancel(cancel), PolarJsonContext.Default.PolarSubscriptionCancel), PolarJsonContext.Default.PolarSubscription, ct);

    /// <summary>Switches the subscription to another product (<c>proration_behavior</c>: invoice, prorate or next_period).</summary>
    public Task<PolarResult<PolarSubscription>> ChangeProductAsync(string id, string productId, string prorationBehavior, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, "v1/subscriptions/" + PathSegment(id), JsonBody(new PolarSubscriptionProductUpdate(productId, prorationBehavior), PolarJsonContext.Default.PolarSubscriptionProductUpdate), PolarJsonContext.Default.PolarSubscription, ct);

    /// <summary>Drops the subscription's pending update (a scheduled <c>next_period</c> change): <c>{"pending_update": null}</c>.</summary>
    public Task<PolarResult<PolarSubscription>> ClearPendingUpdateAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, "v1/subscriptions/" + PathSegment(id), JsonBody(new PolarSubscriptionUpdateClear(), PolarJsonContext.Default.PolarSubscriptionUpdateClear), PolarJsonContext.Default.PolarSubscription, ct);

    /// <summary>A customer session (about an hour) whose <c>customer_portal_url</c> opens Polar's customer portal.</summary>
    public Task<PolarResult<PolarCustomerSession>> CreateCustomerSessionAsync(string customerId, string? returnUrl, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "v1/customer-sessions/", JsonBody(new PolarCustomerSessionCreate(customerId, returnUrl), PolarJsonContext.Default.PolarCustomerSessionCreate), PolarJsonContext.Default.PolarCustomerSession, ct);

    /// <summary>Lists subscriptions matching one filter (e.g. <c>external_customer_id</c>), 100 per page.</summary>
    public Task<PolarResult<PolarSubscriptionList>> ListSubscriptionsAsync(string filterName, string? filterValue, int page, CancellationToken ct)
    {
        var query = new StringBuilder("v1/subscriptions/?limit=100&page=").Append(page.ToString(CultureInfo.InvariantCulture));
        if (filterValue is not null)
        {
            query.Append('&').Append(Uri.EscapeDataString(filterName)).Append('=').Append(Uri.EscapeDataString(filterValue));
        }

        AppendOrganization(query);
        return SendAsync(HttpMethod.Get, query.ToString(), null, PolarJsonContext.Default.PolarSubscriptionList, ct);
    }

    /// <summary>The organization <paramref name="id"/>, when this token may see it (<c>organizations:read</c>); any other is 404.</summary>
    public Task<PolarResult<PolarOrganization>> GetOrganizationAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/organizations/" + PathSegment(id), null, PolarJsonContext.Default.PolarOrganization, ct, quiet: true);

    /// <summary>
    /// One page (100) of the token's organization's webhook endpoints, newest first (<c>webhooks:read</c>). Polar's
    /// collection route has no trailing slash.
    /// </summary>
    public Task<PolarResult<PolarWebhookEndpointList>> ListWebhookEndpointsAsync(int page, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/webhooks/endpoints?limit=100&page=" + page.ToString(CultureInfo.InvariantCulture), null, PolarJsonContext.Default.PolarWebhookEndpointList, ct, quiet: true);

    /// <summary>
    /// <c>GET {collection}?limit=1</c> on a collection route (e.g. <c>v1/subscriptions/</c>): whether the token may read
    /// it, without a side effect. Not scoped to <c>OrganizationId</c>, so its items show the token's own organization.
    /// </summary>
    public Task<PolarResult<PolarProbeList>> ProbeAsync(string collection, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, collection + "?limit=1", null, PolarJsonContext.Default.PolarProbeList, ct, quiet: true);

    /// <summary>
    /// The body as bytes with their length. Polar's server refuses a POST, PUT or PATCH without <c>Content-Length</c>
    /// (411 <c>LengthRequired</c>, before authentication: <c>MaxBodySizeMiddleware</c>), and <c>JsonContent</c>
    /// (<c>PostAsJsonAsync</c>, <c>JsonContent.Create</c>) cannot tell its length, so HttpClient sends it chunked.
    /// </summary>
    private static ByteArrayContent JsonBody<TBody>(TBody body, JsonTypeInfo<TBody> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private void AppendOrganization(StringBuilder query)
    {
        var organizationId = options.CurrentValue.OrganizationId;
        if (!string.IsNullOrEmpty(organizationId))
        {
            query.Append("&organization_id=").Append(Uri.EscapeDataString(organizationId));
        }
    }

    /// <summary>
    /// Sends one request. With <paramref name="quiet"/>, Polar's refusals are only returned: the start-up self-check
    /// reports them itself, one line per finding; an unreachable Polar is still logged. With <paramref name="ignoreBody"/>,
    /// a success is not read (Polar's 202 answers carry <c>null</c>).
    /// </summary>
    private async Task<PolarResult<T>> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken ct, bool quiet = false, bool ignoreBody = false)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.CurrentValue.AccessToken);
        request.Headers.Add("Polar-Version", ApiVersion);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        HttpResponseMessage response;
        var started = time.GetTimestamp();
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException
                                      or Polly.CircuitBreaker.BrokenCircuitException
                                      || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            Log.PolarUnreachable(logger, method.Method, AbsoluteUrl(path), e.GetType().Name, Cause(e), HostSetting(options.CurrentValue));
            return PolarResult<T>.Failure(new PolarApiError(PolarErrorKind.Unavailable, null, "unreachable", [], null, null));
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.PolarCalled(logger, method.Method, AbsoluteUrl(path), status, (long)time.GetElapsedTime(started).TotalMilliseconds);
            }

            if (response.IsSuccessStatusCode && ignoreBody)
            {
                return PolarResult<T>.Success(default!);
            }

            if (response.IsSuccessStatusCode)
            {
                try
                {
                    var value = await response.Content.ReadFromJsonAsync(type, ct).ConfigureAwait(false);
                    if (value is not null)
                    {
                        return PolarResult<T>.Success(value);
                    }
                }
                catch (JsonException)
                {
                }

                Log.PolarUnexpectedResponse(logger, method.Method, AbsoluteUrl(path), status);
                return PolarResult<T>.Failure(new PolarApiError(PolarErrorKind.Unexpected, status, "invalid_response", [], null, null));
            }

            var error = await ReadErrorAsync(response, ct).ConfigureAwait(false);
            if (quiet)
            {
                return PolarResult<T>.Failure(error);
            }

            switch (error.Kind)
            {
                case PolarErrorKind.TokenRejected when error.Code == "insufficient_scope":
                    Log.PolarScopeMissing(logger, method.Method, AbsoluteUrl(path), error.Detail ?? "");
                    break;
                case PolarErrorKind.TokenRejected:
                    Log.PolarTokenRejected(logger, status, error.Code ?? "", ResolveBaseAddress(options.CurrentValue).Host);
                    break;
                case PolarErrorKind.Unexpected:
                    Log.PolarUnexpectedResponse(logger, method.Method, AbsoluteUrl(path), status);
                    break;
                case PolarErrorKind.NotFound:
                    break;
                default:
                    Log.PolarError(logger, method.Method, AbsoluteUrl(path), status, error.Code ?? "");
                    break;
            }

            return PolarResult<T>.Failure(error);
        }
    }

    /// <summary>The URL a call went to, without its query (which can carry user ids), as the logs name it.</summary>
    private string AbsoluteUrl(string path) => new Uri(http.BaseAddress ?? ResolveBaseAddress(options.CurrentValue), StripQuery(path)).AbsoluteUri;

    /// <summary>The innermost message: the socket error ("Name or service not known (api.polar.sh:443)", "Connection refused").</summary>
    private static string Cause(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static string HostSetting(KavachPolarOptions o) =>
        o.ApiBaseUrl is not null ? "KavachPolar:ApiBaseUrl" : o.Sandbox ? "KavachPolar:Sandbox (true: sandbox-api.polar.sh)" : "KavachPolar:Sandbox (false: api.polar.sh)";

    private async Task<PolarApiError> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var retryAfter = RetryAfter(response, time);
        if (status == 429)
        {
            // Polar's 429 has an empty body: never parse it.
            return new PolarApiError(PolarErrorKind.RateLimited, status, "rate_limited", [], retryAfter, null);
        }

        if (status >= 500)
        {
            return new PolarApiError(PolarErrorKind.Unavailable, status, "server_error", [], retryAfter, null);
        }

        if (status is >= 300 and < 400)
        {
            return new PolarApiError(PolarErrorKind.Unexpected, status, "redirect", [], null, null);
        }

        PolarErrorBody? body = null;
        try
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (bytes.Length > 0 && bytes.Length < 1024 * 1024)
            {
                body = JsonSerializer.Deserialize(bytes, PolarJsonContext.Default.PolarErrorBody);
            }
        }
        catch (JsonException)
        {
        }

        var code = body?.Error;
        var fieldErrors = ReadFieldErrors(body);
        var detail = body is { Detail.ValueKind: JsonValueKind.String } ? body.Detail.GetString() : body?.ErrorDescription;
        if (status == 403 && code == "insufficient_scope")
        {
            // The challenge names the scopes the route takes, any one of them (authlib: scope="a b"); the detail
            // carries them so the log can name the one to add.
            detail = RequiredScopes(response) ?? "";
        }

        // Polar's OAuth errors come as 401 (invalid_token, or no token) and 403 insufficient_scope;
        // a PolarError 403 (e.g. AlreadyCanceledSubscription) is a business rule, not a token problem.
        var kind = status switch
        {
            401 => PolarErrorKind.TokenRejected,
            403 when code is "insufficient_scope" or "invalid_token" => PolarErrorKind.TokenRejected,
            // Polar's own "not found" is {"error":"ResourceNotFound",...}; a bare {"detail":"Not Found"}
            // is an unknown route or an unknown Polar-Version: a wrong ApiBaseUrl, not a missing object.
            // GET /v1/orders/{id}/invoice answers InvoiceDoesNotExist until the invoice is generated.
            404 when code is "ResourceNotFound" or "InvoiceDoesNotExist" => PolarErrorKind.NotFound,
            404 => PolarErrorKind.Unexpected,
            409 => PolarErrorKind.Conflict,
            422 => PolarErrorKind.Validation,
            _ => PolarErrorKind.Rejected,
        };
        return new PolarApiError(kind, status, code, fieldErrors, retryAfter, detail);
    }

    private static List<PolarFieldError> ReadFieldErrors(PolarErrorBody? body)
    {
        var list = new List<PolarFieldError>();
        if (body is not { Detail.ValueKind: JsonValueKind.Array })
        {
            if (body is { Detail.ValueKind: JsonValueKind.String })
            {
                list.Add(new PolarFieldError("", body.Detail.GetString() ?? "", body.Error));
            }

            return list;
        }

        foreach (var item in body.Detail.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var parsed = item.Deserialize(PolarJsonContext.Default.PolarValidationErrorItem);
            if (parsed is null)
            {
                continue;
            }

            list.Add(new PolarFieldError(FieldPath(parsed.Loc), parsed.Msg ?? "", parsed.Type, parsed.Loc));
        }

        return list;
    }

    /// <summary>
    /// Turns Polar's <c>loc</c> (<c>["body","CheckoutProductsCreate","products",0]</c>,
    /// <c>["body","individual","email"]</c>) into a field path (<c>products[0]</c>, <c>email</c>): the leading
    /// <c>body</c> and the union member names and tags go.
    /// </summary>
    internal static string FieldPath(JsonElement[]? loc)
    {
        if (loc is null)
        {
            return "";
        }

        var sb = new StringBuilder();
        for (var i = 0; i < loc.Length; i++)
        {
            var part = loc[i];
            if (part.ValueKind == JsonValueKind.Number)
            {
                sb.Append('[').Append(part.GetRawText()).Append(']');
                continue;
            }

            var name = part.ValueKind == JsonValueKind.String ? part.GetString() ?? "" : part.GetRawText();
            if (i == 0 && name is "body" or "query" or "path")
            {
                continue;
            }

            // Pydantic's union member names (CheckoutProductsCreate) and the customer union's tags ("individual",
            // "team" right after "body") are not field names.
            if ((name.Length > 0 && char.IsUpper(name[0])) || (i == 1 && name is "individual" or "team" && loc[0].ValueKind == JsonValueKind.String && loc[0].GetString() == "body"))
            {
                continue;
            }

            if (sb.Length > 0)
            {
                sb.Append('.');
            }

            sb.Append(name);
        }

        return sb.ToString();
    }

    /// <summary>The <c>scope</c> attribute of a <c>WWW-Authenticate: Bearer ...</c> challenge, e.g. <c>subscriptions:write</c>.</summary>
    internal static string? RequiredScopes(HttpResponseMessage response)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            var parameter = challenge.Parameter ?? "";
            var start = parameter.IndexOf("scope=\"", StringComparison.Ordinal);
            if (start >= 0)
            {
                start += "scope=\"".Length;
                var end = parameter.IndexOf('"', start);
                if (end > start)
                {
                    return parameter[start..end];
                }
            }
        }

        return null;
    }

    /// <summary>How long Polar asks to wait: <c>Retry-After</c> as seconds, or as a date measured on <paramref name="time"/>.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var d = date - time.GetUtcNow();
            return d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }

        if (response.Headers.TryGetValues("retry-after", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return null;
    }

    /// <summary>
    /// Escapes one path segment. "." and ".." are escaped too: left as they are, .NET's Uri would
    /// resolve them and send the request to another route.
    /// </summary>
    internal static string PathSegment(string value)
    {
        var escaped = Uri.EscapeDataString(value);
        return escaped is "." or ".." ? escaped.Replace(".", "%2E", StringComparison.Ordinal) : escaped;
    }

    private static string StripQuery(string path)
    {
        var q = path.IndexOf('?', StringComparison.Ordinal);
        return q < 0 ? path : path[..q];
    }
}
