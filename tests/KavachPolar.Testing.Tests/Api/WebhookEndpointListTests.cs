using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// <c>GET /v1/webhooks/endpoints</c> and <c>GET /v1/organizations/{id}</c> as an organization access token sees them:
/// the organization's endpoints, newest first, each with its secret, events and enabled flag; its own organization,
/// and 404 for any other.
/// </summary>
public sealed class WebhookEndpointListTests
{
    [Fact]
    public async Task The_listing_shows_each_endpoint_with_its_url_secret_events_and_enabled_flag_newest_first()
    {
        await using var h = await Harness.StartAsync();
        var narrow = h.Emulator.AddWebhookEndpoint(new Uri("https://old-tunnel.trycloudflare.com/api/kavach/auth/polar/webhook"), events: ["subscription.updated", "checkout.updated"]);

        var response = await h.Http.GetAsync("v1/webhooks/endpoints");

        Assert.Equal(200, response.Status);
        var items = response.Json["items"]!.AsArray();
        Assert.Equal(2, response.Json["pagination"]!["total_count"]!.GetValue<int>());
        Assert.Equal(narrow.Id, items[0]!["id"]!.GetValue<string>());
        Assert.Equal(narrow.Url.AbsoluteUri, items[0]!["url"]!.GetValue<string>());
        Assert.Equal(narrow.Secret, items[0]!["secret"]!.GetValue<string>());
        Assert.Equal(["checkout.updated", "subscription.updated"], items[0]!["events"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal("raw", items[0]!["format"]!.GetValue<string>());
        Assert.Equal(h.Emulator.OrganizationId, items[0]!["organization_id"]!.GetValue<string>());
        Assert.True(items[0]!["enabled"]!.GetValue<bool>());
        // Registered for every event: Polar's list of them all.
        Assert.Contains("subscription.revoked", items[1]!["events"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Contains("benefit_grant.created", items[1]!["events"]!.AsArray().Select(e => e!.GetValue<string>()));
    }

    [Fact]
    public async Task An_endpoint_polar_disabled_is_listed_as_disabled_with_its_modification_time()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.EnableWebhookEndpoint(h.Endpoint.Id, enabled: false);

        var item = (await h.Http.GetAsync($"v1/webhooks/endpoints/{h.Endpoint.Id}")).Json;

        Assert.False(item["enabled"]!.GetValue<bool>());
        Assert.NotNull(item["modified_at"]);
        h.Emulator.EnableWebhookEndpoint(h.Endpoint.Id);
        Assert.True((await h.Http.GetAsync($"v1/webhooks/endpoints/{h.Endpoint.Id}")).Json["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_listing_filters_by_organization_and_pages()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.AddWebhookEndpoint(new Uri("https://app.example.org/hook"));

        var other = await h.Http.GetAsync("v1/webhooks/endpoints?organization_id=0e6c8c52-2b0f-4f1e-9d55-6f4e3a0b7c21");
        var page = await h.Http.GetAsync("v1/webhooks/endpoints?limit=1&page=2");
        var bad = await h.Http.GetAsync("v1/webhooks/endpoints?organization_id=nope");

        Assert.Empty(other.Json["items"]!.AsArray());
        Assert.Equal(h.Endpoint.Id, Assert.Single(page.Json["items"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(2, page.Json["pagination"]!["max_page"]!.GetValue<int>());
        Assert.Equal(422, bad.Status);
    }

    [Fact]
    public async Task The_collection_has_no_trailing_slash_and_its_slashed_spelling_redirects()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync("v1/webhooks/endpoints/");

        Assert.Equal(307, response.Status);
        Assert.EndsWith("/v1/webhooks/endpoints", response.Headers["location"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_without_webhooks_read_cannot_list_endpoints()
    {
        await using var h = await Harness.StartAsync();
        using var http = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["subscriptions:write"]));

        var response = await http.GetAsync("v1/webhooks/endpoints");

        Assert.Equal(403, response.Status);
        Assert.Equal("insufficient_scope", response["error"]);
    }

    [Fact]
    public async Task The_tokens_organization_is_found_and_any_other_is_not()
    {
        await using var h = await Harness.StartAsync();

        var own = await h.Http.GetAsync($"v1/organizations/{h.Emulator.OrganizationId}");
        var other = await h.Http.GetAsync("v1/organizations/0e6c8c52-2b0f-4f1e-9d55-6f4e3a0b7c21");
        var malformed = await h.Http.GetAsync("v1/organizations/acme");

        Assert.Equal(200, own.Status);
        Assert.Equal(h.Emulator.OrganizationId, own["id"]);
        Assert.Equal(404, other.Status);
        Assert.Equal("{\"error\":\"ResourceNotFound\",\"detail\":\"Not found\"}", other.Body);
        Assert.Equal(422, malformed.Status);
        Assert.Equal("uuid_parsing", malformed.Json["detail"]![0]!["type"]!.GetValue<string>());
    }
}
