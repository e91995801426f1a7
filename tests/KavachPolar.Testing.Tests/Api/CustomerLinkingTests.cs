using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary>
/// Where an external customer id lands. A checkout links its <c>customer_id</c> first, else the customer that already has the
/// external id; otherwise confirmation reuses the customer with the typed email as it is (its external id unchanged), refuses
/// with <c>CheckoutCustomerExternalIdMismatch</c> when no customer has that email but the external id is taken, and else
/// creates a customer with the checkout's external id.
/// </summary>
public sealed class CustomerLinkingTests
{
    [Fact]
    public async Task The_external_id_lands_on_the_customer_the_checkout_creates()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.SubscribeAsync("new.user@gmail.com", new JsonObject { ["external_customer_id"] = "usr_1" });

        var customer = await h.Http.GetAsync("v1/customers/external/usr_1");
        Assert.Equal(200, customer.Status);
        Assert.Equal(result.CustomerId, customer["id"]);
        Assert.Equal("new.user@gmail.com", customer["email"]);
        var subscription = JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!;
        Assert.Equal("usr_1", subscription["customer"]!["external_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_external_id_containing_a_slash_cannot_be_looked_up_by_path_but_the_list_query_finds_it()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.CreateCustomer("slash.user@gmail.com", externalId: "team/7");

        // Polar's router decodes %2F before matching: two segments, no route, a bare 404.
        // (A bare client: this 404 is the router's, not an operation's documented response.)
        using var raw = new HttpClient { BaseAddress = h.Emulator.BaseUrl };
        raw.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", h.Emulator.AccessToken);
        var byPath = await raw.GetAsync("v1/customers/external/team%2F7", TestContext.Current.CancellationToken);
        Assert.Equal(404, (int)byPath.StatusCode);
        Assert.Equal("{\"detail\":\"Not Found\"}", await byPath.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        var listed = await h.Http.GetAsync("v1/customers/?query=team%2F7");
        Assert.Equal(200, listed.Status);
        Assert.Equal("team/7", listed.Json["items"]![0]!["external_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_customer_external_id_alias_is_accepted_on_checkout_creation()
    {
        await using var h = await Harness.StartAsync();

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_external_id"] = "usr_alias" });

        Assert.Equal("usr_alias", checkout["external_customer_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_existing_customer_with_the_same_email_is_reused_as_is_without_the_external_id()
    {
        await using var h = await Harness.StartAsync();
        var existing = await h.Http.PostAsync("v1/customers/", "{\"email\":\"jane.doe@gmail.com\",\"name\":\"Jane\"}");
        Assert.Equal(201, existing.Status);

        var result = await h.SubscribeAsync("jane.doe@gmail.com", new JsonObject { ["external_customer_id"] = "usr_2" });

        Assert.Equal(existing["id"], result.CustomerId);
        var customer = await h.Http.GetAsync($"v1/customers/{result.CustomerId}");
        Assert.Null(customer.Json["external_id"]);
        Assert.Equal(404, (await h.Http.GetAsync("v1/customers/external/usr_2")).Status);
        Assert.DoesNotContain("customer.created", h.ReceivedTypes().Skip(2));
    }

    [Fact]
    public async Task An_external_id_that_already_has_a_customer_links_it_at_creation_and_locks_its_email()
    {
        await using var h = await Harness.StartAsync();
        var owner = await h.Http.PostAsync("v1/customers/", "{\"email\":\"owner@gmail.com\",\"external_id\":\"usr_3\"}");

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_3" });
        var result = await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "someone.else@gmail.com", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(owner["id"], checkout["customer_id"]!.GetValue<string>());
        Assert.Equal("owner@gmail.com", checkout["customer_email"]!.GetValue<string>());
        Assert.Equal(owner["id"], result.CustomerId);
        Assert.Single(h.Emulator.Customers);
    }

    [Fact]
    public async Task An_external_id_claimed_after_checkout_creation_by_another_email_is_a_mismatch()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_4" });
        Assert.Equal(201, (await h.Http.PostAsync("v1/customers/", "{\"email\":\"first@gmail.com\",\"external_id\":\"usr_4\"}")).Status);

        var e = await Assert.ThrowsAsync<PolarEmulatorException>(() =>
            h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "second@gmail.com", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(422, e.StatusCode);
        Assert.Equal("{\"error\":\"CheckoutCustomerExternalIdMismatch\",\"detail\":\"A customer with this external ID already exists but with a different email address.\"}", e.ErrorBody);
        Assert.Equal("open", (await h.Http.GetAsync($"v1/checkouts/{checkout["id"]}"))["status"]);
    }

    [Fact]
    public async Task Without_a_customer_the_typed_emails_customer_is_used_even_when_it_belongs_to_another_external_id()
    {
        await using var h = await Harness.StartAsync();
        var owner = h.Emulator.CreateCustomer("shared.inbox@gmail.com", "Owner", "usr_owner");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_payer", ["customer_metadata"] = new JsonObject { ["source"] = "checkout" } });

        var result = await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "Shared.Inbox@gmail.com", cancellationToken: TestContext.Current.CancellationToken);
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Null(checkout["customer_id"]);
        Assert.Equal(owner.Id, result.CustomerId);
        var customer = await h.Http.GetAsync($"v1/customers/{owner.Id}");
        Assert.Equal("usr_owner", customer["external_id"]);
        Assert.Equal("checkout", customer.Json["metadata"]!["source"]!.GetValue<string>());
        Assert.Equal(404, (await h.Http.GetAsync("v1/customers/external/usr_payer")).Status);
        Assert.Single(h.Emulator.Customers);
        Assert.Single(h.ReceivedTypes(), t => t == "customer.created");
        Assert.Equal(owner.Id, JsonNode.Parse(h.Emulator.GetSubscriptionJson(result.SubscriptionId))!["customer"]!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("first.owner@gmail.com")]
    [InlineData("bystander@gmail.com")]
    public async Task A_taken_external_id_is_no_mismatch_when_a_customer_has_the_typed_email(string typedEmail)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.CreateCustomer("bystander@gmail.com");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_claimed" });
        var claimer = h.Emulator.CreateCustomer("first.owner@gmail.com", externalId: "usr_claimed");

        var result = await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), typedEmail, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(h.Emulator.Customers.Single(c => c.Email == typedEmail).Id, result.CustomerId);
        Assert.Equal(claimer.Id, (await h.Http.GetAsync("v1/customers/external/usr_claimed"))["id"]);
        Assert.Equal(2, h.Emulator.Customers.Count);
    }

    [Fact]
    public async Task A_new_customer_gets_the_checkouts_external_id_and_customer_metadata()
    {
        await using var h = await Harness.StartAsync();
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_fresh", ["customer_metadata"] = new JsonObject { ["plan"] = "pro" } });

        var result = await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "fresh.face@gmail.com", cancellationToken: TestContext.Current.CancellationToken);

        var customer = await h.Http.GetAsync("v1/customers/external/usr_fresh");
        Assert.Equal(result.CustomerId, customer["id"]);
        Assert.Equal("fresh.face@gmail.com", customer["email"]);
        Assert.Equal("pro", customer.Json["metadata"]!["plan"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_customer_id_links_the_customer_prefills_and_locks_the_email()
    {
        await using var h = await Harness.StartAsync();
        var customer = h.Emulator.CreateCustomer("linked@gmail.com", "Linked", "usr_5");

        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer.Id, ["external_customer_id"] = "usr_other" });
        var html = await h.Http.Client.GetStringAsync(new Uri(checkout["url"]!.GetValue<string>()), TestContext.Current.CancellationToken);
        var result = await h.Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), "typed.other@gmail.com", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(customer.Id, checkout["customer_id"]!.GetValue<string>());
        Assert.Equal("linked@gmail.com", checkout["customer_email"]!.GetValue<string>());
        Assert.Contains("value=\"linked@gmail.com\" readonly", html, StringComparison.Ordinal);
        Assert.Equal(customer.Id, result.CustomerId);
        Assert.Equal("usr_5", (await h.Http.GetAsync($"v1/customers/{customer.Id}"))["external_id"]);
    }

    [Fact]
    public async Task An_unknown_customer_id_is_refused_at_checkout_creation()
    {
        await using var h = await Harness.StartAsync();
        var unknown = Guid.NewGuid().ToString();

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id), ["customer_id"] = unknown }.ToJsonString());

        Assert.Equal(422, response.Status);
        Assert.Equal("[\"body\",\"customer_id\"]", response.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal("Customer does not exist.", response.Json["detail"]![0]!["msg"]!.GetValue<string>());
    }

    [Fact]
    public async Task Creating_a_customer_with_a_taken_email_or_external_id_is_refused()
    {
        await using var h = await Harness.StartAsync();
        Assert.Equal(201, (await h.Http.PostAsync("v1/customers/", "{\"email\":\"taken@gmail.com\",\"external_id\":\"usr_6\"}")).Status);

        var sameEmail = await h.Http.PostAsync("v1/customers/", "{\"email\":\"TAKEN@gmail.com\"}");
        var sameExternal = await h.Http.PostAsync("v1/customers/", "{\"email\":\"free@gmail.com\",\"external_id\":\"usr_6\"}");

        Assert.Equal(422, sameEmail.Status);
        Assert.Equal("[\"body\",\"email\"]", sameEmail.Json["detail"]![0]!["loc"]!.ToJsonString());
        Assert.Equal(422, sameExternal.Status);
        Assert.Equal("PolarRequestValidationError", sameExternal["error"]);
        Assert.Equal("[\"body\",\"external_id\"]", sameExternal.Json["detail"]![0]!["loc"]!.ToJsonString());
    }

    [Fact]
    public async Task Customer_state_lists_only_entitled_subscriptions()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync(fields: new JsonObject { ["external_customer_id"] = "usr_7" });

        var active = await h.Http.GetAsync("v1/customers/external/usr_7/state");
        await h.Emulator.FailRenewalAsync(result.SubscriptionId, TestContext.Current.CancellationToken);
        var pastDue = await h.Http.GetAsync($"v1/customers/{result.CustomerId}/state");

        Assert.Equal(result.SubscriptionId, active.Json["active_subscriptions"]![0]!["id"]!.GetValue<string>());
        Assert.Equal(h.Pro.BenefitIds.Order(), active.Json["granted_benefits"]!.AsArray().Select(g => g!["benefit_id"]!.GetValue<string>()).Order());
        Assert.Empty(pastDue.Json["active_subscriptions"]!.AsArray());
        Assert.Empty(pastDue.Json["granted_benefits"]!.AsArray());
    }

    [Fact]
    public async Task A_customer_session_gives_a_portal_url_with_a_one_hour_token()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync(fields: new JsonObject { ["external_customer_id"] = "usr_8" });

        var response = await h.Http.PostAsync("v1/customer-sessions/", "{\"external_customer_id\":\"usr_8\"}");

        Assert.Equal(201, response.Status);
        Assert.StartsWith("polar_cst_", response["token"], StringComparison.Ordinal);
        Assert.Equal(result.CustomerId, response["customer_id"]);
        var portal = response["customer_portal_url"];
        Assert.StartsWith($"{h.Emulator.BaseUrl}emulator/portal?customer_session_token=polar_cst_", portal, StringComparison.Ordinal);
        var html = await h.Http.Client.GetStringAsync(new Uri(portal), TestContext.Current.CancellationToken);
        Assert.Contains("Pro: active", html, StringComparison.Ordinal);
    }
}
