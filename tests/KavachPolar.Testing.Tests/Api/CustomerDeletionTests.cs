using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary><c>DELETE /v1/customers/{id}</c>: Polar's soft delete (customer service and repository).</summary>
public sealed class CustomerDeletionTests
{
    /// <summary>Revoking a Pro subscription revokes its three benefit grants.</summary>
    private static readonly string[] Revoked3 = ["benefit_grant.revoked", "benefit_grant.revoked", "benefit_grant.revoked"];

    [Fact]
    public async Task Deleting_answers_204_revokes_the_subscription_with_its_webhooks_and_frees_the_external_id()
    {
        await using var h = await Harness.StartAsync();
        var result = await h.SubscribeAsync("leaving.user@gmail.com", new JsonObject { ["external_customer_id"] = "usr_gone" });
        var seen = h.Receiver.Received.Count;

        var response = await h.Http.DeleteAsync($"v1/customers/{result.CustomerId}");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(204, response.Status);
        Assert.Equal("", response.Body);
        Assert.Equal(["subscription.updated", "subscription.canceled", "subscription.revoked", .. Revoked3, "customer.state_changed", "customer.deleted"], h.ReceivedTypes(seen));
        var subscription = await h.Http.GetAsync($"v1/subscriptions/{result.SubscriptionId}");
        Assert.Equal("canceled", subscription["status"]);
        Assert.NotNull(subscription.Json["ended_at"]);
        var deleted = JsonNode.Parse(h.Receiver.Received[^1].Body)!["data"]!;
        Assert.Null(deleted["external_id"]);
        Assert.Equal("usr_gone", deleted["metadata"]!["__external_id"]!.GetValue<string>());
        Assert.NotNull(deleted["deleted_at"]);

        var again = await h.Http.PostAsync("v1/customers/", "{\"email\":\"leaving.user@gmail.com\",\"external_id\":\"usr_gone\"}");
        Assert.Equal(201, again.Status);
        Assert.NotEqual(result.CustomerId, again["id"]);
        Assert.Equal(again["id"], (await h.Http.GetAsync("v1/customers/external/usr_gone"))["id"]);
    }

    [Fact]
    public async Task A_deleted_customer_is_excluded_from_every_look_up()
    {
        await using var h = await Harness.StartAsync();
        var kept = h.Emulator.CreateCustomer("kept@gmail.com", externalId: "usr_kept");
        var gone = h.Emulator.CreateCustomer("gone@gmail.com", externalId: "usr_deleted");

        h.Emulator.DeleteCustomer(gone.Id);

        Assert.Equal("{\"error\":\"ResourceNotFound\",\"detail\":\"Not found\"}", (await h.Http.GetAsync($"v1/customers/{gone.Id}")).Body);
        Assert.Equal(404, (await h.Http.GetAsync($"v1/customers/{gone.Id}/state")).Status);
        Assert.Equal(404, (await h.Http.GetAsync("v1/customers/external/usr_deleted")).Status);
        Assert.Equal(404, (await h.Http.GetAsync("v1/customers/external/usr_deleted/state")).Status);
        var list = await h.Http.GetAsync("v1/customers/?limit=100");
        Assert.Equal([kept.Id], list.Json["items"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()));
        Assert.Empty((await h.Http.GetAsync("v1/customers/?email=gone@gmail.com")).Json["items"]!.AsArray());
        Assert.Equal([kept.Id], h.Emulator.Customers.Select(c => c.Id));
        var byId = await h.Http.PostAsync("v1/customer-sessions/", $"{{\"customer_id\":\"{gone.Id}\"}}");
        var byExternal = await h.Http.PostAsync("v1/customer-sessions/", "{\"external_customer_id\":\"usr_deleted\"}");
        Assert.Equal(422, byId.Status);
        Assert.Equal("Customer does not exist.", byId.Json["detail"]![0]!["msg"]!.GetValue<string>());
        Assert.Equal(422, byExternal.Status);
        Assert.Equal(404, (await h.Http.DeleteAsync($"v1/customers/{gone.Id}")).Status);
        Assert.Equal(404, (await h.Http.DeleteAsync($"v1/customers/{Guid.NewGuid()}")).Status);
    }

    [Fact]
    public async Task A_checkout_whose_customer_was_deleted_cannot_be_paid()
    {
        await using var h = await Harness.StartAsync();
        var customer = h.Emulator.CreateCustomer("vanished@gmail.com");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer.Id });
        Assert.Equal(204, (await h.Http.DeleteAsync($"v1/customers/{customer.Id}")).Status);

        using var response = await h.Http.Client.PostAsync(new Uri($"_emulator/checkouts/{checkout["id"]}/pay", UriKind.Relative), null, TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("{\"error\":\"CheckoutCustomerDeleted\",\"detail\":\"The customer associated with this checkout has been deleted.\"}", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("open", (await h.Http.GetAsync($"v1/checkouts/{checkout["id"]}"))["status"]);
    }

    [Fact]
    public async Task A_checkout_for_a_deleted_customer_id_is_refused_at_creation()
    {
        await using var h = await Harness.StartAsync();
        var customer = h.Emulator.CreateCustomer("erased@gmail.com");
        h.Emulator.DeleteCustomer(customer.Id);

        var response = await h.Http.PostAsync("v1/checkouts/", new JsonObject { ["products"] = new JsonArray(h.Pro.Id), ["customer_id"] = customer.Id }.ToJsonString());

        Assert.Equal(422, response.Status);
        Assert.Equal(
            $"{{\"error\":\"PolarRequestValidationError\",\"detail\":[{{\"type\":\"value_error\",\"loc\":[\"body\",\"customer_id\"],\"msg\":\"Customer does not exist.\",\"input\":\"{customer.Id}\"}}]}}",
            response.Body);
    }

    [Fact]
    public async Task Paying_with_a_deleted_customers_email_creates_a_new_customer()
    {
        await using var h = await Harness.StartAsync();
        var first = await h.SubscribeAsync("returning@gmail.com");
        h.Emulator.DeleteCustomer(first.CustomerId);

        var second = await h.SubscribeAsync("returning@gmail.com");

        Assert.NotEqual(first.CustomerId, second.CustomerId);
        Assert.Equal(second.CustomerId, h.Emulator.Customers.Single().Id);
    }

    [Fact]
    public async Task Only_billable_subscriptions_are_revoked_and_a_paused_one_which_does_not_block_a_new_one_is_left_alone()
    {
        await using var h = await Harness.StartAsync();
        var paused = await h.SubscribeAsync("two.subs@gmail.com");
        Assert.Equal(200, (await h.Http.PatchAsync($"v1/subscriptions/{paused.SubscriptionId}", "{\"pause_at_period_end\":true}")).Status);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(32), TestContext.Current.CancellationToken);
        var active = await h.SubscribeAsync("two.subs@gmail.com", productId: h.Team.Id);

        h.Emulator.DeleteCustomer(active.CustomerId);

        Assert.Equal("paused", (await h.Http.GetAsync($"v1/subscriptions/{paused.SubscriptionId}"))["status"]);
        Assert.Equal("canceled", (await h.Http.GetAsync($"v1/subscriptions/{active.SubscriptionId}"))["status"]);
    }
}
