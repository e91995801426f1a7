using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Orders;

/// <summary>
/// Invoices as Polar's order service makes them: <c>POST /v1/orders/{id}/invoice</c> answers 202 and queues the
/// <c>order.invoice</c> job; the job stores the invoice (<c>is_invoice_generated</c>) and sends <c>order.updated</c>;
/// <c>GET /v1/orders/{id}/invoice</c> answers 404 <c>InvoiceDoesNotExist</c> until then, the URL after.
/// </summary>
public sealed class InvoiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_invoice_is_generated_on_the_emulators_clock_after_the_202_with_one_order_updated_and_then_served()
    {
        await using var h = await Harness.StartAsync(o => o.InvoiceGenerationDelay = TimeSpan.FromHours(1));
        var paid = await h.SubscribeAsync(productId: PolarEmulator.DemoLifetimeProductId);
        var seen = h.Receiver.Received.Count;

        var before = await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice");
        var queued = await h.Http.PostAsync($"v1/orders/{paid.OrderId}/invoice", "");
        var stillNone = await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromHours(1), Ct);
        var ready = await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice");
        var again = await h.Http.PostAsync($"v1/orders/{paid.OrderId}/invoice", "");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromHours(2), Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        using var page = await h.Http.Client.GetAsync(new Uri(ready["url"]), Ct);

        var missing = $"{{\"error\":\"InvoiceDoesNotExist\",\"detail\":\"No invoice exists for order {paid.OrderId}.\"}}";
        Assert.Equal(404, before.Status);
        Assert.Equal(missing, before.Body);
        Assert.Equal(202, queued.Status);
        Assert.Equal("null", queued.Body);
        Assert.Equal(missing, stillNone.Body);
        Assert.Equal(200, ready.Status);
        Assert.StartsWith(h.Emulator.BaseUrl.AbsoluteUri + "invoices/", ready["url"], StringComparison.Ordinal);
        Assert.Equal(202, again.Status);
        Assert.Equal(["order.updated"], h.ReceivedTypes(seen));
        Assert.True((bool)JsonNode.Parse(h.Receiver.Received[^1].Body)!["data"]!["is_invoice_generated"]!);
        Assert.True((bool)(await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["is_invoice_generated"]!);
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("EMULATOR-", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clock_that_moves_on_its_own_generates_the_invoice_before_the_next_read()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var h = await Harness.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.InvoiceGenerationDelay = TimeSpan.FromMinutes(10);
        });
        var paid = await h.SubscribeAsync();
        Assert.Equal(202, (await h.Http.PostAsync($"v1/orders/{paid.OrderId}/invoice", "")).Status);

        var early = await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice");
        clock.Advance(TimeSpan.FromMinutes(10));
        var late = await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice");

        Assert.Equal(404, early.Status);
        Assert.Equal(200, late.Status);
    }

    [Fact]
    public async Task A_customer_created_before_its_checkout_gets_the_pages_billing_address_and_its_order_an_invoice()
    {
        await using var h = await Harness.StartAsync(o => o.InvoiceGenerationDelay = TimeSpan.Zero);
        var customer = h.Emulator.CreateCustomer("made.first@gmail.com", "Made First", externalId: "user-made-first");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer.Id, ["products"] = new JsonArray(PolarEmulator.DemoAddOnProductId) });
        var paid = await h.Emulator.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);

        var order = (await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json;
        var queued = await h.Http.PostAsync($"v1/orders/{paid.OrderId}/invoice", "");

        Assert.Equal("US", (string?)(await h.Http.GetAsync($"v1/customers/{customer.Id}")).Json["billing_address"]!["country"]);
        Assert.Equal("US", (string?)order["billing_address"]!["country"]);
        Assert.Equal("Made First", (string?)order["billing_name"]);
        Assert.Equal(202, queued.Status);
    }

    [Fact]
    public async Task An_order_without_billing_details_is_422_a_void_order_409_and_an_unknown_one_404_and_nothing_is_queued()
    {
        await using var h = await Harness.StartAsync(o => o.InvoiceGenerationDelay = TimeSpan.Zero);
        // Paying an existing customer's checkout gives it the page's billing address (the payment form requires one),
        // and a name only when one is typed: without a name there are no billing details.
        var customer = h.Emulator.CreateCustomer("no.name@gmail.com");
        var checkout = await h.CreateCheckoutAsync(new JsonObject { ["customer_id"] = customer.Id });
        var paid = await h.Emulator.PayCheckoutAsync((string)checkout["id"]!, cancellationToken: Ct);
        var failing = await h.SubscribeAsync("failing@gmail.com");
        await h.Emulator.FailRenewalAsync(failing.SubscriptionId, Ct);
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromDays(22), Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);
        var voided = JsonNode.Parse(h.Receiver.Received.Last(r => r.Type == "order.updated").Body)!["data"]!;
        var seen = h.Receiver.Received.Count;

        var noDetails = await h.Http.PostAsync($"v1/orders/{paid.OrderId}/invoice", "");
        var notEligible = await h.Http.PostAsync($"v1/orders/{voided["id"]}/invoice", "");
        var unknown = await h.Http.PostAsync($"v1/orders/{Guid.NewGuid()}/invoice", "");
        await h.Emulator.AdvanceTimeAsync(TimeSpan.FromMinutes(1), Ct);
        await h.Emulator.WaitForDeliveriesAsync(Ct);

        Assert.Null((await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["billing_name"]);
        Assert.Equal("US", (string?)(await h.Http.GetAsync($"v1/orders/{paid.OrderId}")).Json["billing_address"]!["country"]);
        Assert.Equal("{\"error\":\"MissingInvoiceBillingDetails\",\"detail\":\"Billing name and address are required to generate an invoice for this order.\"}", noDetails.Body);
        Assert.Equal(422, noDetails.Status);
        Assert.Equal("void", (string?)voided["status"]);
        Assert.Equal(409, notEligible.Status);
        Assert.Equal($"{{\"error\":\"OrderNotEligibleForInvoice\",\"detail\":\"Order {voided["id"]} is not eligible for invoice generation (current status: void).\"}}", notEligible.Body);
        Assert.Equal("{\"error\":\"ResourceNotFound\",\"detail\":\"Not found\"}", unknown.Body);
        Assert.Empty(h.ReceivedTypes(seen));
        Assert.Equal(404, (await h.Http.GetAsync($"v1/orders/{paid.OrderId}/invoice")).Status);
    }
}
