using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Hostile;

/// <summary>
/// The hostile-input corpus: anything posted to the public webhook URL gets a 4xx or a harmless 2xx,
/// never a 5xx, and nothing changes the users' state.
/// </summary>
public sealed class HostileWebhookTests : AppTest
{
    protected override Task<KavachTestApp> StartAppAsync() =>
        KavachTestApp.StartAsync(Db.ConnectionString, new() { Settings = new Dictionary<string, string?> { ["KavachPolar:OrganizationId"] = ExampleOrganizationId } });

    /// <summary>The <c>webhook-*</c> headers of a signed request, as raw header lines.</summary>
    private static string SignatureLines(HttpRequestMessage request) =>
        string.Concat(request.Headers.Where(h => h.Key.StartsWith("webhook-", StringComparison.Ordinal)).Select(h => $"{h.Key}: {h.Value.First()}\n"));

    private static string Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Header sets that are wrong before any signature is checked. Null means "leave the header out".</summary>
    public static TheoryData<string, string?, string?, string?, int> BadHeaders()
    {
        var id = "3e0a7f8c-2d4b-4c6e-9a1f-5b7d9e2c4a60";
        var sig = "v1,9Vik3NU3shP2/fjWEldBnidSN3cE20I8P1Io9JiYqNE=";
        return new TheoryData<string, string?, string?, string?, int>
        {
            { "no headers", null, null, null, 400 },
            { "missing id", null, Now, sig, 400 },
            { "missing timestamp", id, null, sig, 400 },
            { "missing signature", id, Now, null, 400 },
            { "empty id", "", Now, sig, 400 },
            { "empty timestamp", id, "", sig, 400 },
            { "empty signature", id, Now, "", 400 },
            { "id with dots", "a.b.c", Now, sig, 400 },
            { "id too long", new string('a', 5000), Now, sig, 400 },
            { "non-numeric timestamp", id, "yesterday", sig, 400 },
            { "negative timestamp", id, "-1790846208", sig, 400 },
            { "signed timestamp", id, "+1790846208", sig, 400 },
            { "decimal timestamp", id, Now + ".5", sig, 400 },
            { "exponent timestamp", id, "1.79e9", sig, 400 },
            { "overflowing timestamp", id, "99999999999999999999999999", sig, 400 },
            { "zero timestamp", id, "0", sig, 403 },
            { "garbage signature", id, Now, "garbage", 400 },
            { "wrong-version signature", id, Now, "v2,9Vik3NU3shP2/fjWEldBnidSN3cE20I8P1Io9JiYqNE=", 403 },
            { "empty v1 signature", id, Now, "v1,", 403 },
            { "non-base64 signature", id, Now, "v1,!!!!****", 403 },
            { "short signature", id, Now, "v1,AAAA", 403 },
            { "many signatures", id, Now, string.Join(' ', Enumerable.Repeat("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 300)), 403 },
            { "headers larger than the server accepts", id, Now, string.Join(' ', Enumerable.Repeat("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 2000)), 431 },
            { "valid-looking but wrong signature", id, Now, sig, 403 },
        };
    }

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task Bad_headers_get_a_4xx_and_change_nothing(string name, string? id, string? timestamp, string? signature, int expected)
    {
        _ = name;
        var request = new HttpRequestMessage(HttpMethod.Post, App.WebhookUrl) { Content = new ByteArrayContent(Compact(Example("subscription.created.json"))) };
        if (id is not null)
        {
            request.Headers.TryAddWithoutValidation("webhook-id", id);
        }

        if (timestamp is not null)
        {
            request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp);
        }

        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("webhook-signature", signature);
        }

        var response = await App.Client.SendAsync(request, Ct);
        Assert.Equal(expected, (int)response.StatusCode);
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Theory]
    [InlineData("webhook-id")]
    [InlineData("webhook-timestamp")]
    [InlineData("webhook-signature")]
    public async Task Repeated_header_lines_get_400(string header)
    {
        var body = Compact(Example("subscription.created.json"));
        var request = App.Signer.CreateRequest(App.WebhookUrl, body);
        var head = $"POST /api/kavach/auth/polar/webhook HTTP/1.1\nHost: {App.BaseUrl.Authority}\nContent-Type: application/json\nContent-Length: {body.Length}\nConnection: close\n"
                   + SignatureLines(request) + $"{header}: {request.Headers.GetValues(header).First()}\n";
        Assert.Equal(400, await RawHttp.SendAsync(App.BaseUrl, head, body));
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Fact]
    public async Task Control_characters_in_the_id_get_400()
    {
        var body = Compact(Example("subscription.created.json"));
        var ts = Now;
        var id = "abc\u0001def";
        var head = $"POST /api/kavach/auth/polar/webhook HTTP/1.1\nHost: {App.BaseUrl.Authority}\nContent-Type: application/json\nContent-Length: {body.Length}\nwebhook-id: {id}\nwebhook-timestamp: {ts}\nwebhook-signature: {App.Signer.Sign(id, long.Parse(ts, CultureInfo.InvariantCulture), body)}\nConnection: close\n";
        var status = await RawHttp.SendAsync(App.BaseUrl, head, body);
        Assert.True(status is 400, $"got {status}");
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Fact]
    public async Task A_truncated_body_that_promised_more_gets_400_not_a_hang()
    {
        var body = Compact(Example("subscription.created.json"));
        var request = App.Signer.CreateRequest(App.WebhookUrl, body);
        var head = $"POST /api/kavach/auth/polar/webhook HTTP/1.1\nHost: {App.BaseUrl.Authority}\nContent-Type: application/json\nContent-Length: {body.Length}\n"
                   + SignatureLines(request);
        var status = await RawHttp.SendAsync(App.BaseUrl, head, body[..(body.Length / 2)], halfClose: true);
        Assert.True(status is null or 400, $"got {status}");
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Fact]
    public async Task A_content_length_shorter_than_the_body_fails_the_signature()
    {
        var body = Compact(Example("subscription.created.json"));
        var request = App.Signer.CreateRequest(App.WebhookUrl, body);
        var head = $"POST /api/kavach/auth/polar/webhook HTTP/1.1\nHost: {App.BaseUrl.Authority}\nContent-Type: application/json\nContent-Length: {body.Length - 10}\n"
                   + SignatureLines(request);
        var status = await RawHttp.SendAsync(App.BaseUrl, head, body);
        Assert.True(status is 400 or 403, $"got {status}");
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Fact]
    public async Task A_lying_small_content_length_on_an_oversized_body_is_still_bounded()
    {
        var body = new byte[400 * 1024];
        var head = $"POST /api/kavach/auth/polar/webhook HTTP/1.1\nHost: {App.BaseUrl.Authority}\nContent-Type: application/json\nContent-Length: 300000\nwebhook-id: x\nwebhook-timestamp: {Now}\nwebhook-signature: v1,AAAA\n";
        var status = await RawHttp.SendAsync(App.BaseUrl, head, body);
        Assert.Equal(413, status);
        await AssertNoStateAsync(expectedEvents: 0);
    }

    [Fact]
    public async Task A_valid_chunked_delivery_is_accepted()
    {
        var request = App.Signer.CreateRequest(App.WebhookUrl, Compact(Example("subscription.created.json")));
        request.Content = new StreamContent(new MemoryStream(await request.Content!.ReadAsByteArrayAsync(Ct)));
        request.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.Accepted, (await App.Client.SendAsync(request, Ct)).StatusCode);
    }

    /// <summary>Validly signed bodies that cannot be processed: acknowledged, kept raw, no user state.</summary>
    public static TheoryData<string, string> SignedJunk() => new()
    {
        { "empty body", "" },
        { "not json", "hello" },
        { "truncated json", """{"type":"subscription.created","data":{"id":""" },
        { "json array", "[1,2,3]" },
        { "no type", """{"data":{}}""" },
        { "type not a string", """{"type":42,"data":{}}""" },
        { "subscription without data", """{"type":"subscription.updated"}""" },
        { "data not an object", """{"type":"subscription.updated","data":"x"}""" },
        { "data missing fields", """{"type":"subscription.updated","data":{"id":"x"}}""" },
        { "deeply nested", "{\"type\":\"subscription.updated\",\"data\":" + new string('[', 5000) + new string(']', 5000) + "}" },
        { "nul bytes", "{\"type\":\"subscription.updated\u0000\",\"data\":{\"id\":\"\u0000\"}}" },
        { "invalid utf-8", "\uFFFE\uD800" },
    };

    [Theory]
    [MemberData(nameof(SignedJunk))]
    public async Task Validly_signed_junk_is_acknowledged_kept_and_harmless(string name, string text)
    {
        _ = name;
        var body = name == "invalid utf-8" ? [0xC3, 0x28, 0xFF, 0xFE] : Encoding.UTF8.GetBytes(text);
        var response = await App.PostWebhookAsync(body, ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await AssertNoStateAsync(expectedEvents: 1);
        Assert.Equal("unprocessable", await Db.ScalarAsync<string>("SELECT outcome FROM kavach_polar_webhook_events", Ct));
    }

    [Theory]
    [InlineData("id", "not\u0000an id")]
    [InlineData("status", "")]
    [InlineData("customer_id", "")]
    [InlineData("external_id", "usr\u0001bad")]
    [InlineData("id", 12)]
    [InlineData("cancel_at_period_end", "yes")]
    [InlineData("current_period_end", "not a date")]
    public async Task A_signed_subscription_with_wrong_fields_is_acknowledged_and_harmless(string field, object value)
    {
        var payload = Example("subscription.created.json");
        JsonNode node = value is string s ? JsonValue.Create(s) : JsonValue.Create((int)value);
        if (field == "external_id")
        {
            payload["data"]!["customer"]!["external_id"] = node;
        }
        else
        {
            payload["data"]![field] = node;
        }

        var response = await App.PostWebhookAsync(Compact(payload), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await AssertNoStateAsync(expectedEvents: 1);
    }

    [Theory]
    [InlineData(127)]
    [InlineData(128)]
    public async Task An_unknown_event_type_longer_than_its_column_is_kept_shortened_without_splitting_a_character(int before)
    {
        // The column keeps 128 UTF-16 code units; an emoji is two. Cut between its halves, the rest is no longer
        // valid text and the database driver refuses to encode it.
        var type = new string('a', before) + "😀" + new string('b', 300);
        var body = Encoding.UTF8.GetBytes("{\"type\":\"" + type + "\",\"timestamp\":\"2026-10-01T09:16:48.801224Z\",\"data\":{}}");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostWebhookAsync(body, ct: Ct)).StatusCode);

        var recorded = await Db.ScalarAsync<string>("SELECT event_type FROM kavach_polar_webhook_events", Ct);
        Assert.Equal(before == 127 ? new string('a', 127) : new string('a', 128), recorded);
        await AssertNoStateAsync(expectedEvents: 1);
    }

    [Fact]
    public async Task A_customer_name_with_an_emoji_across_its_column_limit_is_applied_without_half_of_it()
    {
        var payload = Example("subscription.created.json");
        payload["data"]!["customer"]!["name"] = new string('J', 255) + "\U0001F600" + "ane";
        var response = await App.PostWebhookAsync(Compact(payload), ct: Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("applied", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!["outcome"]);
        Assert.Equal(new string('J', 255), await Db.ScalarAsync<string>("SELECT name FROM kavach_users WHERE id = 'usr_1337'", Ct));
    }

    [Fact]
    public async Task Unknown_events_and_other_organizations_are_harmless()
    {
        var unknown = await App.PostWebhookAsync(Encoding.UTF8.GetBytes("""{"type":"future.event","timestamp":"2026-10-01T09:16:48.801224Z","data":{}}"""), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, unknown.StatusCode);
        var other = Subscription("subscription.created", "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", organizationId: "00000000-0000-4000-8000-000000000000");
        var foreign = await App.PostWebhookAsync(Compact(other), ct: Ct);
        Assert.Equal(HttpStatusCode.Accepted, foreign.StatusCode);
        await AssertNoStateAsync(expectedEvents: 2);
    }

    [Fact]
    public async Task A_burst_of_random_junk_never_gets_a_5xx()
    {
        var seed = Environment.TickCount;
        TestContext.Current.SendDiagnosticMessage($"seed {seed}");
        var random = new Random(seed);
        var statuses = new List<int>();
        for (var i = 0; i < 200; i++)
        {
            var body = new byte[random.Next(0, 2048)];
            random.NextBytes(body);
            var request = random.Next(3) == 0
                ? App.Signer.CreateRequest(App.WebhookUrl, body)
                : new HttpRequestMessage(HttpMethod.Post, App.WebhookUrl) { Content = new ByteArrayContent(body) };
            if (random.Next(2) == 0)
            {
                request.Headers.TryAddWithoutValidation("webhook-id", Convert.ToBase64String(body.AsSpan(0, Math.Min(body.Length, 12))));
                request.Headers.TryAddWithoutValidation("webhook-timestamp", random.NextInt64(-5, long.MaxValue).ToString(CultureInfo.InvariantCulture));
                request.Headers.TryAddWithoutValidation("webhook-signature", "v1," + Convert.ToBase64String(body.AsSpan(0, Math.Min(body.Length, 32))));
            }

            statuses.Add((int)(await App.Client.SendAsync(request, Ct)).StatusCode);
        }

        Assert.DoesNotContain(statuses, s => s >= 500);
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
    }

    private async Task AssertNoStateAsync(int expectedEvents)
    {
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_users", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_subscriptions", Ct));
        Assert.Equal(0L, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_callbacks", Ct));
        Assert.Equal(expectedEvents, await Db.ScalarAsync<long>("SELECT count(*) FROM kavach_polar_webhook_events", Ct));
    }
}
