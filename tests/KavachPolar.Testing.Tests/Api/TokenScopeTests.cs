using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// Tokens with fewer scopes (<see cref="PolarEmulator.CreateAccessToken"/>) are refused as Polar's <c>Authenticator</c>
/// refuses them: 403 <c>insufficient_scope</c> when the token holds none of the route's scopes, after routing and before
/// the route validates its input; a read route takes the read or the write scope.
/// </summary>
public sealed class TokenScopeTests
{
    [Fact]
    public async Task A_token_without_the_routes_scope_gets_authlibs_insufficient_scope_answer()
    {
        await using var h = await Harness.StartAsync();
        using var http = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["checkouts:write"]));

        var response = await http.GetAsync("v1/subscriptions/?limit=1");

        Assert.Equal(403, response.Status);
        Assert.Equal("{\"error\": \"insufficient_scope\", \"error_description\": \"The request requires higher privileges than provided by the access token.\"}", response.Body);
        Assert.Equal("Bearer realm=\"polar\", scope=\"subscriptions:read subscriptions:write\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\"", response.Headers["www-authenticate"]);
    }

    [Fact]
    public async Task A_read_route_answers_a_token_with_the_read_or_the_write_scope()
    {
        await using var h = await Harness.StartAsync();
        using var reader = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["customers:read"]));
        using var writer = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["customers:write"]));

        Assert.Equal(200, (await reader.GetAsync("v1/customers/?limit=1")).Status);
        Assert.Equal(200, (await writer.GetAsync("v1/customers/?limit=1")).Status);
        // Reading does not allow writing.
        Assert.Equal(403, (await reader.PostAsync("v1/customers/", "{\"email\":\"jane.doe@gmail.com\"}")).Status);
        Assert.Empty(h.Emulator.Customers);
    }

    [Fact]
    public async Task The_scope_is_checked_before_the_body_and_the_path_are_validated()
    {
        await using var h = await Harness.StartAsync();
        using var http = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["subscriptions:read"]));

        // A valid body would create a checkout; an invalid one would be 422 for a token that may write.
        Assert.Equal(403, (await http.PostAsync("v1/checkouts/", "{}")).Status);
        Assert.Equal(403, (await http.GetAsync("v1/organizations/not-a-uuid")).Status);
        Assert.Equal(422, (await new PolarHttp(h.Emulator).PostAsync("v1/checkouts/", "{}")).Status);
    }

    [Fact]
    public async Task An_unknown_scope_is_refused_when_the_token_is_created()
    {
        await using var h = await Harness.StartAsync();

        var e = Assert.Throws<ArgumentException>(() => h.Emulator.CreateAccessToken(["subscriptions:read", "webhook:read"]));

        Assert.Contains("'webhook:read'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_emulators_own_token_holds_every_scope()
    {
        await using var h = await Harness.StartAsync();

        Assert.Equal(200, (await h.Http.GetAsync("v1/webhooks/endpoints")).Status);
        Assert.Equal(200, (await h.Http.GetAsync($"v1/organizations/{h.Emulator.OrganizationId}")).Status);
        Assert.Equal(200, (await h.Http.GetAsync("v1/checkouts/?limit=1")).Status);
    }
}
