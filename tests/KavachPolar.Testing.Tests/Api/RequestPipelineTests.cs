using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// What Polar's server refuses before an endpoint runs, in the order its app wires the middlewares
/// (<c>server/polar/app.py</c>; Starlette runs the last-added one first): the <c>Polar-Version</c> check, CORS
/// preflights, the body size (411, 413), the rate limiter (injected faults), the bearer token, routing, body
/// decoding, then the route's authentication. Each request is sent raw, as a client that frames it so would.
/// </summary>
public sealed class RequestPipelineTests
{
    private const string LengthRequired = "{\"error\": \"LengthRequired\", \"detail\": \"A Content-Length header is required.\"}";
    private const string TooLarge = "{\"error\": \"RequestBodyTooLarge\", \"detail\": \"Request body exceeded the maximum allowed size of 10485760 bytes.\"}";
    private const string InvalidTokenBody = "{\"error\": \"invalid_token\", \"error_description\": \"The access token provided is expired, revoked, malformed, or invalid for other reasons.\"}";
    private const string UnauthorizedBody = "{\"error\":\"Unauthorized\",\"detail\":\"Unauthorized\"}";

    private static HttpRequestMessage Chunked(HttpMethod method, string path, string json)
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.TransferEncodingChunked = true;
        return request;
    }

    private static string CheckoutBody(Harness h) => new JsonObject { ["products"] = new JsonArray(h.Pro.Id) }.ToJsonString();

    [Theory]
    [InlineData("POST", "v1/checkouts/")]
    [InlineData("POST", "v1/customers/")]
    [InlineData("POST", "v1/customer-sessions/")]
    [InlineData("PATCH", "v1/subscriptions/6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c")]
    [InlineData("PUT", "v1/checkouts/")]
    public async Task A_chunked_body_without_content_length_is_refused_411_and_nothing_happens(string method, string path)
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.SendAsync(Chunked(new HttpMethod(method), path, CheckoutBody(h)));

        Assert.Equal(411, response.Status);
        Assert.Equal(LengthRequired, response.Body);
        Assert.Equal("application/json", response.Headers["content-type"]);
        Assert.Equal("2026-10", response.Headers["polar-version"]);
        Assert.False(response.Headers.ContainsKey("cache-control"));
        Assert.Empty(h.Emulator.Customers);
        Assert.Empty(h.Emulator.Events);
    }

    [Fact]
    public async Task A_post_with_no_framing_at_all_is_refused_411()
    {
        await using var h = await Harness.StartAsync();

        var response = await RawSocket.SendAsync(h.Emulator.BaseUrl, "POST /v1/checkouts/", [$"Authorization: Bearer {h.Emulator.AccessToken}"]);

        Assert.Equal(411, response.Status);
        Assert.Equal(LengthRequired, response.Body);
    }

    [Fact]
    public async Task A_post_with_content_length_zero_passes_the_size_check_and_is_a_missing_body()
    {
        await using var h = await Harness.StartAsync();

        var response = await RawSocket.SendAsync(h.Emulator.BaseUrl, "POST /v1/checkouts/", [$"Authorization: Bearer {h.Emulator.AccessToken}", "Content-Length: 0"]);

        Assert.Equal(422, response.Status);
        Assert.Equal("missing", JsonNode.Parse(response.Body)!["detail"]![0]!["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "v1/subscriptions/", 200)]
    [InlineData("DELETE", "v1/subscriptions/6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c", 404)]
    public async Task Only_post_put_and_patch_need_content_length(string method, string path, int expected)
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.SendAsync(Chunked(new HttpMethod(method), path, "{}"));

        Assert.Equal(expected, response.Status);
    }

    [Theory]
    [InlineData("POST /v1/checkouts/")]
    [InlineData("GET /v1/subscriptions/")]
    public async Task A_declared_length_over_ten_mebibytes_is_refused_413_before_the_body_is_read(string requestLine)
    {
        await using var h = await Harness.StartAsync();

        var response = await RawSocket.SendAsync(h.Emulator.BaseUrl, requestLine,
            [$"Authorization: Bearer {h.Emulator.AccessToken}", "Content-Type: application/json", "Content-Length: 10485761"]);
        var atTheLimit = await RawSocket.SendAsync(h.Emulator.BaseUrl, "GET /v1/subscriptions/",
            [$"Authorization: Bearer {h.Emulator.AccessToken}", "Content-Length: 10485760"]);

        Assert.Equal(413, response.Status);
        Assert.Equal(TooLarge, response.Body);
        Assert.Equal("application/json", response.Headers["content-type"]);
        Assert.Equal(200, atTheLimit.Status);
    }

    [Fact]
    public async Task The_version_check_comes_before_the_body_size_check()
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, version: "2025-01");

        var response = await client.SendAsync(Chunked(HttpMethod.Post, "v1/checkouts/", CheckoutBody(h)));

        Assert.Equal(404, response.Status);
        Assert.Equal("{\"detail\":\"Not Found\"}", response.Body);
    }

    [Theory]
    [InlineData("polar_oat_someone_elses")]
    [InlineData("")]
    public async Task The_body_size_check_comes_before_the_token_and_routing(string token)
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, token: token);

        var known = await client.SendAsync(Chunked(HttpMethod.Post, "v1/checkouts/", CheckoutBody(h)));
        var unknown = await client.SendAsync(Chunked(HttpMethod.Post, "v1/no-such-route/", "{}"));
        var redirected = await client.SendAsync(Chunked(HttpMethod.Post, "v1/checkouts", CheckoutBody(h)));

        Assert.Equal([411, 411, 411], [known.Status, unknown.Status, redirected.Status]);
    }

    [Fact]
    public async Task The_body_size_check_comes_before_the_rate_limiter_which_comes_before_the_token()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.InjectFault(HttpMethod.Post, "/v1/checkouts/", 429, count: 2, retryAfter: TimeSpan.FromSeconds(5));
        using var wrong = new PolarHttp(h.Emulator, token: "polar_oat_someone_elses");

        var chunked = await h.Http.SendAsync(Chunked(HttpMethod.Post, "v1/checkouts/", CheckoutBody(h)));
        var limited = await wrong.PostAsync("v1/checkouts/", CheckoutBody(h));
        var limitedAgain = await h.Http.PostAsync("v1/checkouts/", CheckoutBody(h));
        var refused = await wrong.PostAsync("v1/checkouts/", CheckoutBody(h));

        Assert.Equal(411, chunked.Status);
        Assert.Equal(429, limited.Status);
        Assert.Equal("", limited.Body);
        Assert.Equal("5", limited.Headers["retry-after"]);
        Assert.Equal(429, limitedAgain.Status);
        Assert.Equal(401, refused.Status);
        Assert.Equal(InvalidTokenBody, refused.Body);
    }

    [Fact]
    public async Task A_refused_request_is_recorded_with_its_headers()
    {
        await using var h = await Harness.StartAsync();

        await h.Http.SendAsync(Chunked(HttpMethod.Post, "v1/checkouts/", CheckoutBody(h)));
        await h.Http.PostAsync("v1/checkouts/", CheckoutBody(h));

        Assert.Collection(h.Emulator.ApiRequests,
            chunked =>
            {
                Assert.Equal("POST /v1/checkouts/", chunked.ToString());
                Assert.Equal("chunked", chunked.Headers["transfer-encoding"]);
                Assert.False(chunked.Headers.ContainsKey("Content-Length"));
            },
            framed =>
            {
                Assert.Equal(Encoding.UTF8.GetByteCount(CheckoutBody(h)).ToString(System.Globalization.CultureInfo.InvariantCulture), framed.Headers["Content-Length"]);
                Assert.Equal("application/json; charset=utf-8", framed.Headers["content-type"]);
                Assert.Equal("2026-10", framed.Headers["Polar-Version"]);
            });
    }

    [Fact]
    public async Task A_cors_preflight_is_answered_before_the_body_size_the_token_and_routing()
    {
        await using var h = await Harness.StartAsync();
        using var wrong = new PolarHttp(h.Emulator, token: "polar_oat_someone_elses");
        using var request = new HttpRequestMessage(HttpMethod.Options, "v1/no-such-route/");
        request.Headers.Add("Origin", "https://app.example.org");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization, polar-version, content-type");

        var response = await wrong.SendAsync(request);

        Assert.Equal(200, response.Status);
        Assert.Equal("OK", response.Body);
        Assert.Equal("*", response.Headers["access-control-allow-origin"]);
        Assert.Equal("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT", response.Headers["access-control-allow-methods"]);
        Assert.Equal("Accept, Accept-Language, Authorization, Content-Language, Content-Type, Polar-Version", response.Headers["access-control-allow-headers"]);
        Assert.Equal("600", response.Headers["access-control-max-age"]);
        Assert.Equal("2026-10", response.Headers["polar-version"]);
    }

    [Fact]
    public async Task A_cors_preflight_asking_for_another_header_or_method_is_refused_400()
    {
        await using var h = await Harness.StartAsync();
        using var headers = new HttpRequestMessage(HttpMethod.Options, "v1/checkouts/");
        headers.Headers.Add("Origin", "https://app.example.org");
        headers.Headers.Add("Access-Control-Request-Method", "POST");
        headers.Headers.Add("Access-Control-Request-Headers", "authorization, x-request-id");
        using var method = new HttpRequestMessage(HttpMethod.Options, "v1/checkouts/");
        method.Headers.Add("Origin", "https://app.example.org");
        method.Headers.Add("Access-Control-Request-Method", "TRACE");

        var badHeaders = await h.Http.SendAsync(headers);
        var badMethod = await h.Http.SendAsync(method);

        Assert.Equal(400, badHeaders.Status);
        Assert.Equal("Disallowed CORS headers", badHeaders.Body);
        Assert.Equal("text/plain; charset=utf-8", badHeaders.Headers["content-type"]);
        Assert.Equal(400, badMethod.Status);
        Assert.Equal("Disallowed CORS method", badMethod.Body);
    }

    [Fact]
    public async Task A_request_with_an_origin_is_answered_with_cors_headers_even_when_refused()
    {
        await using var h = await Harness.StartAsync();
        using var chunked = Chunked(HttpMethod.Post, "v1/checkouts/", CheckoutBody(h));
        chunked.Headers.Add("Origin", "https://app.example.org");
        using var plain = new HttpRequestMessage(HttpMethod.Get, "v1/subscriptions/");
        plain.Headers.Add("Origin", "https://app.example.org");

        var refused = await h.Http.SendAsync(chunked);
        var answered = await h.Http.SendAsync(plain);

        Assert.Equal(411, refused.Status);
        Assert.Equal("*", refused.Headers["access-control-allow-origin"]);
        Assert.Equal(200, answered.Status);
        Assert.Equal("*", answered.Headers["access-control-allow-origin"]);
        Assert.Equal("Polar-Version", answered.Headers["access-control-expose-headers"]);
    }

    [Fact]
    public async Task Answers_from_routing_and_endpoints_carry_cache_control_and_earlier_refusals_do_not()
    {
        await using var h = await Harness.StartAsync();
        using var wrong = new PolarHttp(h.Emulator, token: "polar_oat_someone_elses");
        using var anonymous = new PolarHttp(h.Emulator, token: "");

        var answered = await h.Http.GetAsync("v1/subscriptions/");
        var unknownRoute = await h.Http.GetAsync("v1/no-such-route/");
        var noToken = await anonymous.GetAsync("v1/subscriptions/");
        var badToken = await wrong.GetAsync("v1/subscriptions/");

        Assert.Equal("private, no-store", answered.Headers["cache-control"]);
        Assert.Equal("private, no-store", unknownRoute.Headers["cache-control"]);
        Assert.Equal("private, no-store", noToken.Headers["cache-control"]);
        Assert.Equal(401, badToken.Status);
        Assert.False(badToken.Headers.ContainsKey("cache-control"));
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer polar_crt_a_client_registration_token")]
    public async Task A_header_that_is_not_a_bearer_token_counts_as_no_token_and_is_refused_only_after_routing(string authorization)
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, token: "");
        using var unknown = new HttpRequestMessage(HttpMethod.Get, "v1/no-such-route/");
        unknown.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var known = new HttpRequestMessage(HttpMethod.Get, "v1/subscriptions/");
        known.Headers.TryAddWithoutValidation("Authorization", authorization);

        var unknownRoute = await client.SendAsync(unknown);
        var knownRoute = await client.SendAsync(known);

        Assert.Equal(404, unknownRoute.Status);
        Assert.Equal(401, knownRoute.Status);
        Assert.Equal(UnauthorizedBody, knownRoute.Body);
    }

    [Fact]
    public async Task The_bearer_scheme_is_case_insensitive_and_the_token_is_trimmed()
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, token: "");
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/subscriptions/");
        request.Headers.TryAddWithoutValidation("Authorization", "bEaReR   " + h.Emulator.AccessToken + "  ");

        var response = await client.SendAsync(request);

        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task A_customer_session_token_is_a_customer_whom_organization_routes_refuse_as_unauthorized_after_routing()
    {
        await using var h = await Harness.StartAsync();
        var customer = h.Emulator.CreateCustomer("jane.doe@gmail.com");
        var session = await h.Http.PostAsync("v1/customer-sessions/", new JsonObject { ["customer_id"] = customer.Id }.ToJsonString());
        using var asCustomer = new PolarHttp(h.Emulator, token: session["token"]);
        using var madeUp = new PolarHttp(h.Emulator, token: "polar_cst_not_a_session");

        var known = await asCustomer.GetAsync("v1/subscriptions/");
        var unknown = await asCustomer.GetAsync("v1/no-such-route/");
        var invalid = await madeUp.GetAsync("v1/no-such-route/");

        Assert.Equal(401, known.Status);
        Assert.Equal(UnauthorizedBody, known.Body);
        Assert.Equal(404, unknown.Status);
        Assert.Equal(401, invalid.Status);
        Assert.Equal(InvalidTokenBody, invalid.Body);
    }

    [Fact]
    public async Task Head_is_not_routed_to_get_and_405_names_the_first_route_of_the_path()
    {
        await using var h = await Harness.StartAsync();
        var id = Guid.NewGuid();

        var head = await h.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "v1/subscriptions/"));
        var post = await h.Http.PostAsync($"v1/subscriptions/{id}", "{}");

        Assert.Equal(405, head.Status);
        Assert.Equal("GET", head.Headers["allow"]);
        Assert.Equal(405, post.Status);
        Assert.Equal("GET", post.Headers["allow"]);
        Assert.Equal("{\"detail\":\"Method Not Allowed\"}", post.Body);
    }

    [Fact]
    public async Task The_slash_redirect_follows_a_route_of_any_method()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.SendAsync(HttpMethod.Delete, "v1/subscriptions", null);

        Assert.Equal(307, response.Status);
        Assert.Equal($"{h.Emulator.BaseUrl}v1/subscriptions/", response.Headers["location"]);
    }

    [Fact]
    public async Task Malformed_json_is_refused_422_before_the_route_checks_the_token()
    {
        await using var h = await Harness.StartAsync();
        using var anonymous = new PolarHttp(h.Emulator, token: "");

        var malformed = await anonymous.PostAsync("v1/checkouts/", "{\"products\": [");
        var empty = await anonymous.PostAsync("v1/checkouts/", "");
        var valid = await anonymous.PostAsync("v1/checkouts/", "{}");

        Assert.Equal(422, malformed.Status);
        Assert.Equal("json_invalid", malformed.Json["detail"]![0]!["type"]!.GetValue<string>());
        Assert.Equal(401, empty.Status);
        Assert.Equal(401, valid.Status);
    }

    [Fact]
    public async Task A_body_that_is_not_utf8_is_refused_400_as_unparsable()
    {
        await using var h = await Harness.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/checkouts/") { Content = new ByteArrayContent([0x7B, 0xFF, 0xFE, 0x7D]) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await h.Http.SendAsync(request);

        Assert.Equal(400, response.Status);
        Assert.Equal("{\"detail\":\"There was an error parsing the body\"}", response.Body);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task A_body_not_labelled_json_is_not_parsed_and_fails_validation_as_raw_text(string? contentType)
    {
        await using var h = await Harness.StartAsync();
        var json = CheckoutBody(h);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/checkouts/") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json)) };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        var response = await h.Http.SendAsync(request);

        Assert.Equal(422, response.Status);
        var first = response.Json["detail"]![0]!;
        Assert.Equal("model_attributes_type", first["type"]!.GetValue<string>());
        Assert.Equal("[\"body\",\"CheckoutProductsCreate\"]", first["loc"]!.ToJsonString());
        Assert.Equal(json, first["input"]!.GetValue<string>());
        Assert.Empty(h.Emulator.Events);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/vnd.polar+json; charset=utf-8")]
    [InlineData("APPLICATION/JSON")]
    public async Task Json_and_any_json_suffix_media_type_are_parsed(string contentType)
    {
        await using var h = await Harness.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/checkouts/") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(CheckoutBody(h))) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await h.Http.SendAsync(request);

        Assert.Equal(201, response.Status);
    }
}
