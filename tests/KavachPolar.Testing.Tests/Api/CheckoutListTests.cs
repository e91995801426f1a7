using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Api;

/// <summary><c>GET /v1/checkouts/</c> filters, and the locale Polar forces on checkouts.</summary>
public sealed class CheckoutListTests
{
    private sealed record Fixture(Harness H, string Alice, string A, string B, string C, string D);

    /// <summary>
    /// A: Alice's checkout (customer usr_alice, Pro, open); B: Bob's by email only (Team, open); C: paid by Carol, whose
    /// customer the checkout created (usr_carol, Pro, succeeded); D: no customer, no email (Team selected, open).
    /// </summary>
    private static async Task<Fixture> ArrangeAsync()
    {
        var h = await Harness.StartAsync();
        var alice = h.Emulator.CreateCustomer("alice@gmail.com", "Alice", "usr_alice");
        var a = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = alice.Id });
        var b = await h.CreateCheckoutAsync(new JsonObject { ["customer_email"] = "bob@fastmail.com" }, h.Team.Id);
        var c = await h.CreateCheckoutAsync(new JsonObject { ["external_customer_id"] = "usr_carol" });
        await h.Emulator.PayCheckoutAsync(c["id"]!.GetValue<string>(), "carol@gmail.com", cancellationToken: TestContext.Current.CancellationToken);
        var d = await h.CreateCheckoutAsync(new JsonObject { ["products"] = new JsonArray(h.Team.Id, h.Pro.Id) });
        return new Fixture(h, alice.Id, Id(a), Id(b), Id(c), Id(d));
    }

    private static string Id(JsonObject checkout) => checkout["id"]!.GetValue<string>();

    private static async Task<List<string>> IdsAsync(Harness h, string query)
    {
        var response = await h.Http.GetAsync("v1/checkouts/?" + query);
        Assert.True(response.Status == 200, response.Body);
        var items = response.Json["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(items.Count, response.Json["pagination"]!["total_count"]!.GetValue<int>());
        return items;
    }

    [Fact]
    public async Task Customer_and_external_customer_filters_match_the_checkouts_customer()
    {
        var f = await ArrangeAsync();
        await using var h = f.H;

        Assert.Equal([f.A], await IdsAsync(h, $"customer_id={f.Alice}"));
        Assert.Empty(await IdsAsync(h, $"customer_id={Guid.NewGuid()}"));
        Assert.Equal([f.C], await IdsAsync(h, "external_customer_id=usr_carol"));
        Assert.Equal([f.A], await IdsAsync(h, "external_customer_id=usr_alice"));
        Assert.Equal([f.C, f.A], await IdsAsync(h, "external_customer_id=usr_alice&external_customer_id=usr_carol"));
        Assert.Empty(await IdsAsync(h, "external_customer_id=usr_nobody"));
    }

    [Fact]
    public async Task Product_status_and_email_query_filters_combine()
    {
        var f = await ArrangeAsync();
        await using var h = f.H;

        Assert.Equal([f.D, f.B], await IdsAsync(h, $"product_id={h.Team.Id}"));
        Assert.Empty(await IdsAsync(h, $"product_id={Guid.NewGuid()}"));
        Assert.Equal([f.C], await IdsAsync(h, "status=succeeded"));
        Assert.Equal([f.D, f.B, f.A], await IdsAsync(h, "status=open"));
        Assert.Empty(await IdsAsync(h, "status=expired"));
        Assert.Equal([f.A], await IdsAsync(h, $"product_id={h.Pro.Id}&status=open"));
        Assert.Equal([f.B], await IdsAsync(h, "query=FASTMAIL"));
        Assert.Equal([f.C, f.A], await IdsAsync(h, "query=gmail.com"));
        Assert.Equal([f.A], await IdsAsync(h, "query=al_ce"));
        Assert.Empty(await IdsAsync(h, "query=nobody.home"));
        Assert.Equal(4, (await IdsAsync(h, $"organization_id={h.Emulator.OrganizationId}")).Count);
        Assert.Empty(await IdsAsync(h, $"organization_id={Guid.NewGuid()}"));
    }

    [Fact]
    public async Task An_unknown_status_is_a_validation_error()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.Http.GetAsync("v1/checkouts/?status=open&status=paid");

        Assert.Equal(422, response.Status);
        var error = Assert.Single(response.Json["detail"]!.AsArray())!;
        Assert.Equal("enum", error["type"]!.GetValue<string>());
        Assert.Equal("[\"query\",\"status\",1]", error["loc"]!.ToJsonString());
        Assert.Equal("Input should be 'open', 'expired', 'confirmed', 'succeeded' or 'failed'", error["msg"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_checkouts_locale_is_en_whatever_was_asked_because_localization_is_not_enabled()
    {
        await using var h = await Harness.StartAsync();
        var asked = await h.CreateCheckoutAsync(new JsonObject { ["locale"] = "fr-CA" });
        var customer = await h.Http.PostAsync("v1/customers/", "{\"email\":\"deutsch@gmail.com\",\"locale\":\"de\"}");
        var prefilled = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer["id"] });

        var patched = await h.Http.PatchAsync($"v1/checkouts/{asked["id"]}", "{\"locale\":\"es\"}");
        var paid = await h.Emulator.PayCheckoutAsync(Id(asked), "new.buyer@gmail.com", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("de", customer["locale"]);
        Assert.Equal("en", asked["locale"]!.GetValue<string>());
        Assert.Equal("en", prefilled["locale"]!.GetValue<string>());
        Assert.Equal("en", patched["locale"]);
        Assert.Equal("en", (await h.Http.GetAsync($"v1/customers/{paid.CustomerId}"))["locale"]);
    }
}
