using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

public sealed class ErrorShapeTests
{
    private const string InvalidTokenBody = "{\"error\": \"invalid_token\", \"error_description\": \"The access token provided is expired, revoked, malformed, or invalid for other reasons.\"}";

    [Fact]
    public async Task A_request_without_a_token_gets_the_unauthorized_shape_and_a_bare_bearer_challenge()
    {
        await using var h = await Harness.StartAsync();
        using var anonymous = new PolarHttp(h.Emulator, token: "");

        var response = await anonymous.GetAsync("v1/subscriptions/");

        Assert.Equal(401, response.Status);
        Assert.Equal("{\"error\":\"Unauthorized\",\"detail\":\"Unauthorized\"}", response.Body);
        Assert.Equal("Bearer realm=\"polar\"", response.Headers["www-authenticate"]);
    }

    [Fact]
    public async Task A_wrong_token_gets_authlibs_invalid_token_body_with_its_spaces()
    {
        await using var h = await Harness.StartAsync();
        using var wrong = new PolarHttp(h.Emulator, token: "polar_oat_someone_elses");

        var response = await wrong.GetAsync("v1/subscriptions/");

        Assert.Equal(401, response.Status);
        Assert.Equal(InvalidTokenBody, response.Body);
        Assert.StartsWith("Bearer realm=\"polar\", error=\"invalid_token\", error_description=\"", response.Headers["www-authenticate"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_id_is_resource_not_found()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync($"v1/subscriptions/{Guid.NewGuid()}");

        Assert.Equal(404, response.Status);
        Assert.Equal("{\"error\":\"ResourceNotFound\",\"detail\":\"Not found\"}", response.Body);
    }

    [Fact]
    public async Task An_unknown_route_is_starlettes_plain_not_found()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync("v1/no-such-route/");

        Assert.Equal(404, response.Status);
        Assert.Equal("{\"detail\":\"Not Found\"}", response.Body);
    }

    [Theory]
    [InlineData("2025-01-15")]
    [InlineData("2025-01")]
    [InlineData("latest")]
    public async Task A_malformed_or_unknown_polar_version_is_a_plain_not_found(string version)
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, version: version);

        var response = await client.GetAsync("v1/subscriptions/");

        Assert.Equal(404, response.Status);
        Assert.Equal("{\"detail\":\"Not Found\"}", response.Body);
    }

    [Theory]
    [InlineData("2026-04")]
    [InlineData("2026-10")]
    [InlineData("2027-01")]
    public async Task A_supported_polar_version_is_echoed(string version)
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, version: version);

        var response = await client.GetAsync("v1/subscriptions/");

        Assert.Equal(200, response.Status);
        Assert.Equal(version, response.Headers["polar-version"]);
    }

    [Fact]
    public async Task Without_a_polar_version_the_current_version_answers()
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, version: null);

        var response = await client.GetAsync("v1/subscriptions/");

        Assert.Equal("2026-10", response.Headers["polar-version"]);
    }

    [Fact]
    public async Task An_empty_polar_version_header_falls_back_to_the_current_version()
    {
        await using var h = await Harness.StartAsync();
        using var client = new PolarHttp(h.Emulator, version: "");

        var response = await client.GetAsync("v1/subscriptions/");

        Assert.Equal(200, response.Status);
        Assert.Equal("2026-10", response.Headers["polar-version"]);
    }

    [Theory]
    [InlineData("v1/no-such-route/")]
    [InlineData("v1/subscriptions")]
    [InlineData("v1/customers/external/a/b/c")]
    public async Task A_wrong_token_is_refused_before_routing_even_on_a_path_that_does_not_exist(string path)
    {
        await using var h = await Harness.StartAsync();
        using var wrong = new PolarHttp(h.Emulator, token: "polar_oat_someone_elses");

        var response = await wrong.GetAsync(path);

        Assert.Equal(401, response.Status);
        Assert.Equal(InvalidTokenBody, response.Body);
    }

    [Theory]
    [InlineData("v1/no-such-route/", 404)]
    [InlineData("v1/subscriptions", 307)]
    public async Task A_missing_token_is_refused_only_after_routing(string path, int expected)
    {
        await using var h = await Harness.StartAsync();
        using var anonymous = new PolarHttp(h.Emulator, token: "");

        var response = await anonymous.GetAsync(path);

        Assert.Equal(expected, response.Status);
    }

    [Fact]
    public async Task A_collection_route_without_its_trailing_slash_redirects_307_to_the_slashed_path()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync("v1/subscriptions?limit=5");

        Assert.Equal(307, response.Status);
        Assert.Equal($"{h.Emulator.BaseUrl}v1/subscriptions/?limit=5", response.Headers["location"]);
    }

    [Fact]
    public async Task An_item_route_with_a_trailing_slash_redirects_307_to_the_bare_path()
    {
        await using var h = await Harness.StartAsync();
        var id = Guid.NewGuid();

        var response = await h.Http.GetAsync($"v1/subscriptions/{id}/");

        Assert.Equal(307, response.Status);
        Assert.Equal($"{h.Emulator.BaseUrl}v1/subscriptions/{id}", response.Headers["location"]);
    }

    [Fact]
    public async Task Following_the_slash_redirect_with_httpclient_loses_the_token_and_gets_401()
    {
        await using var h = await Harness.StartAsync();
        using var client = new HttpClient { BaseAddress = h.Emulator.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", h.Emulator.AccessToken);

        using var response = await client.GetAsync(new Uri("v1/subscriptions", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_checkout_without_products_lists_one_missing_error_per_union_member()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.PostAsync("v1/checkouts/", "{\"customer_email\":\"jane.doe@gmail.com\"}");

        Assert.Equal(422, response.Status);
        Assert.Equal("RequestValidationError", response["error"]);
        var detail = response.Json["detail"]!.AsArray();
        Assert.Equal(
            ["[\"body\",\"CheckoutProductsCreate\",\"products\"]", "[\"body\",\"CheckoutProductCreate\",\"product_id\"]", "[\"body\",\"CheckoutPriceCreate\",\"product_price_id\"]"],
            detail.Select(d => d!["loc"]!.ToJsonString()));
        Assert.All(detail, d => Assert.Equal("missing", d!["type"]!.GetValue<string>()));
        Assert.All(detail, d => Assert.Equal("Field required", d!["msg"]!.GetValue<string>()));
        Assert.All(detail, d => Assert.Equal("jane.doe@gmail.com", d!["input"]!["customer_email"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_unknown_product_is_a_business_validation_error_at_its_index()
    {
        await using var h = await Harness.StartAsync();
        var unknown = Guid.NewGuid().ToString();

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id, unknown) }.ToJsonString());

        Assert.Equal(422, response.Status);
        Assert.Equal(
            $"{{\"error\":\"PolarRequestValidationError\",\"detail\":[{{\"type\":\"value_error\",\"loc\":[\"body\",\"products\",1],\"msg\":\"Product does not exist.\",\"input\":\"{unknown}\"}}]}}",
            response.Body);
    }

    [Fact]
    public async Task An_id_that_is_not_a_uuid_is_a_uuid_parsing_error()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync("v1/subscriptions/not-a-uuid");

        Assert.Equal(422, response.Status);
        var error = response.Json["detail"]![0]!;
        Assert.Equal("uuid_parsing", error["type"]!.GetValue<string>());
        Assert.Equal("[\"path\",\"id\"]", error["loc"]!.ToJsonString());
        Assert.StartsWith("Input should be a valid UUID, ", error["msg"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_uuid_of_another_version_is_a_uuid_version_error()
    {
        await using var h = await Harness.StartAsync();
        const string v1 = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(v1) }.ToJsonString());

        Assert.Equal(422, response.Status);
        var first = response.Json["detail"]![0]!;
        Assert.Equal("uuid_version", first["type"]!.GetValue<string>());
        Assert.Equal("[\"body\",\"CheckoutProductsCreate\",\"products\",0]", first["loc"]!.ToJsonString());
        Assert.Equal("UUID version 4 expected", first["msg"]!.GetValue<string>());
        Assert.Equal(4, first["ctx"]!["expected_version"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("jane@example.com", "The domain name example.com does not accept email.")]
    [InlineData("jane@shop.test", "The part after the @-sign is a special-use or reserved name that cannot be used with email.")]
    [InlineData("jane@nowhere.invalid", "The part after the @-sign is a special-use or reserved name that cannot be used with email.")]
    [InlineData("jane.example.org", "An email address must have an @-sign.")]
    public async Task Customer_emails_on_test_domains_are_refused_like_polars_deliverability_check(string email, string reason)
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.PostAsync("v1/customers/", new JsonObject { ["email"] = email }.ToJsonString());

        Assert.Equal(422, response.Status);
        var error = response.Json["detail"]![0]!;
        Assert.Equal("value_error", error["type"]!.GetValue<string>());
        Assert.Equal("[\"body\",\"individual\",\"email\"]", error["loc"]!.ToJsonString());
        Assert.Equal("value is not a valid email address: " + reason, error["msg"]!.GetValue<string>());
    }

    [Fact]
    public async Task Customer_create_validation_errors_carry_the_union_tag_and_an_unknown_type_is_an_invalid_tag()
    {
        await using var h = await Harness.StartAsync();

        var missing = await h.Http.PostAsync("v1/customers/", "{\"name\":\"No Email\"}");
        var explicitIndividual = await h.Http.PostAsync("v1/customers/", "{\"type\":\"individual\",\"email\":\"fine@gmail.com\",\"name\":1}");
        var unknownType = await h.Http.PostAsync("v1/customers/", "{\"type\":\"company\",\"email\":\"co@gmail.com\"}");
        var notAnObject = await h.Http.PostAsync("v1/customers/", "[]");

        Assert.Equal(422, missing.Status);
        Assert.Equal("RequestValidationError", missing["error"]);
        Assert.Equal("missing", missing.Json["detail"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("[\"body\",\"individual\",\"email\"]", missing.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal("[\"body\",\"individual\",\"name\"]", explicitIndividual.Json["detail"]![0]!["loc"]!.ToJsonString());
        var tag = unknownType.Json["detail"]![0]!;
        Assert.Equal("union_tag_invalid", tag["type"]!.GetValue<string>());
        Assert.Equal("[\"body\"]", tag["loc"]!.ToJsonString());
        Assert.Equal("Input tag 'company' found using _customer_create_type() does not match any of the expected tags: 'individual', 'team'", tag["msg"]!.GetValue<string>());
        Assert.Equal("[\"body\",\"individual\"]", notAnObject.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Empty(h.Emulator.Customers);
    }

    [Theory]
    [InlineData("6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c")]
    [InlineData("6B0E4B3C-1C2D-4F6E-8A9B-1D2E3F4A5B6C")]
    public async Task Duplicate_product_ids_are_refused_by_the_products_validator(string again)
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id, h.Team.Id, again) }.ToJsonString());

        Assert.Equal(422, response.Status);
        Assert.Equal("RequestValidationError", response["error"]);
        var detail = response.Json["detail"]!.AsArray();
        Assert.Equal(
            $"{{\"type\":\"value_error\",\"loc\":[\"body\",\"CheckoutProductsCreate\",\"products\"],\"msg\":\"Value error, Product IDs must be unique.\",\"input\":[\"{h.Pro.Id}\",\"{h.Team.Id}\",\"{again}\"],\"ctx\":{{\"error\":{{}}}}}}",
            detail[0]!.ToJsonString());
        Assert.Equal(["[\"body\",\"CheckoutProductCreate\",\"product_id\"]", "[\"body\",\"CheckoutPriceCreate\",\"product_price_id\"]"], detail.Skip(1).Select(d => d!["loc"]!.ToJsonString()));
        Assert.Empty(h.Emulator.Events);
    }

    [Fact]
    public async Task A_patch_mixing_two_variants_is_refused_with_extra_forbidden()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"revoke\":true,\"cancel_at_period_end\":true}");

        Assert.Equal(422, response.Status);
        var detail = response.Json["detail"]!.AsArray();
        Assert.Contains(detail, d => d!["type"]!.GetValue<string>() == "extra_forbidden"
            && d["loc"]!.ToJsonString() == "[\"body\",\"SubscriptionCancel\",\"revoke\"]"
            && d["msg"]!.GetValue<string>() == "Extra inputs are not permitted");
        Assert.Contains(detail, d => d!["loc"]!.ToJsonString() == "[\"body\",\"SubscriptionRevoke\",\"cancel_at_period_end\"]");
        Assert.Equal("active", JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Canceling_twice_is_forbidden_as_already_canceled()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true}");

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true}");

        Assert.Equal(403, response.Status);
        Assert.Equal("{\"error\":\"AlreadyCanceledSubscription\",\"detail\":\"This subscription is already canceled or will be at the end of the period.\"}", response.Body);
    }

    [Fact]
    public async Task Revoking_a_revoked_subscription_is_forbidden_as_already_canceled()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        Assert.Equal(200, (await h.Http.DeleteAsync($"v1/subscriptions/{result.SubscriptionId}")).Status);

        var response = await h.Http.DeleteAsync($"v1/subscriptions/{result.SubscriptionId}");

        Assert.Equal(403, response.Status);
        Assert.Equal("AlreadyCanceledSubscription", response["error"]);
    }

    [Fact]
    public async Task Uncanceling_a_subscription_not_scheduled_to_cancel_is_polars_bare_bad_request()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":false}");
        var control = await Assert.ThrowsAsync<PolarEmulatorException>(() => h.Emulator.UncancelSubscriptionAsync(result.SubscriptionId, TestContext.Current.CancellationToken));
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(400, response.Status);
        Assert.Equal("{\"error\":\"BadRequest\",\"detail\":\"Bad request\"}", response.Body);
        Assert.Equal(400, control.StatusCode);
        Assert.Empty(h.ReceivedTypes(seen));
    }

    [Fact]
    public async Task Uncanceling_a_past_due_subscription_scheduled_to_cancel_undoes_the_cancellation()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true}")).Status);

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":false}");

        Assert.Equal(200, response.Status);
        Assert.Equal("past_due", response["status"]);
        Assert.False(response.Json["cancel_at_period_end"]!.GetValue<bool>());
        Assert.Null(response.Json["canceled_at"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Uncanceling_an_ended_subscription_is_resource_unavailable(bool scheduledFirst)
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync();
        if (scheduledFirst)
        {
            Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":true}")).Status);
            await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), TestContext.Current.CancellationToken);
        }
        else
        {
            Assert.Equal(200, (await h.Http.DeleteAsync($"v1/subscriptions/{result.SubscriptionId}")).Status);
        }

        var response = await h.Http.PatchAsync($"v1/subscriptions/{result.SubscriptionId}", "{\"cancel_at_period_end\":false}");

        Assert.Equal(410, response.Status);
        Assert.Equal("{\"error\":\"ResourceUnavailable\",\"detail\":\"Unavailable\"}", response.Body);
    }

    [Fact]
    public async Task An_injected_409_is_a_conflict_polar_really_raises_not_the_never_raised_subscription_locked()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.InjectFault(HttpMethod.Post, "/v1/checkouts/", 409);

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id) }.ToJsonString());
        var next = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id) }.ToJsonString());

        Assert.Equal(409, response.Status);
        Assert.Equal("{\"error\":\"CheckoutCustomerDeleted\",\"detail\":\"The customer associated with this checkout has been deleted.\"}", response.Body);
        Assert.Equal(201, next.Status);
    }

    [Fact]
    public async Task An_injected_429_has_an_empty_body_and_retry_after_then_the_api_answers_again()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.InjectFault(HttpMethod.Get, "/v1/subscriptions/", 429, count: 2, retryAfter: TimeSpan.FromSeconds(7));

        var first = await h.Http.GetAsync("v1/subscriptions/");
        var second = await h.Http.GetAsync("v1/subscriptions/");
        var third = await h.Http.GetAsync("v1/subscriptions/");

        Assert.Equal(429, first.Status);
        Assert.Equal("", first.Body);
        Assert.Equal("7", first.Headers["retry-after"]);
        Assert.Equal(429, second.Status);
        Assert.Equal(200, third.Status);
    }

    [Fact]
    public async Task An_injected_401_has_the_invalid_token_shape()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.InjectFault(HttpMethod.Post, "/v1/checkouts/", 401);

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id) }.ToJsonString());

        Assert.Equal(401, response.Status);
        Assert.Equal(InvalidTokenBody, response.Body);
    }

    [Fact]
    public async Task An_injected_500_answers_starlettes_plain_text_and_only_for_the_matching_method()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.InjectFault(HttpMethod.Post, "/v1/checkouts/", 500);

        var get = await h.Http.GetAsync("v1/checkouts/");
        using var response = await h.Http.Client.PostAsync(new Uri("v1/checkouts/", UriKind.Relative), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(200, get.Status);
        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
