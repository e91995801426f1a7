using System.Net.Http.Json;
using System.Text.RegularExpressions;
using KavachPolar.Sample.Hosting;
using KavachPolar.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KavachPolar.Browser.Tests;

/// <summary>
/// The sample's purchase-gated page in a real browser: closed, opened by buying the lifetime product at Polar's checkout,
/// listed in the billing history with its invoice, and closed again by a full refund made in Polar's dashboard.
/// </summary>
public sealed partial class PurchaseJourneyTests
{
    [Fact]
    public async Task Buying_the_lifetime_product_opens_the_lifetime_page_lists_the_order_with_its_invoice_and_a_full_refund_at_Polar_closes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 900 });
        var shots = new Screenshots(nameof(Buying_the_lifetime_product_opens_the_lifetime_page_lists_the_order_with_its_invoice_and_a_full_refund_at_Polar_closes_it));
        var email = $"ada.{Guid.NewGuid():N}@kavachpolar.dev";

        try
        {
            await SignInAsync(page, baseUrl, email, "Ada Lovelace");

            // Nothing bought yet: the lifetime page sends the user to pricing, which says why, and the billing history is empty.
            await page.GotoAsync("/lifetime");
            await Expect(page).ToHaveURLAsync(new Regex("/pricing\\?ReturnUrl=%2Flifetime$"));
            await Expect(page.GetByTestId("lifetime-need-purchase")).ToBeVisibleAsync();
            await shots.TakeAsync(page, "lifetime-refused");
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("orders-none")).ToBeVisibleAsync();

            // Buy Pro Lifetime at Polar's checkout page.
            await page.GotoAsync("/pricing");
            await page.GetByTestId("buy-pro-lifetime").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
            await polar.WaitForDeliveriesAsync(ct);

            // The page opens.
            await page.GotoAsync("/lifetime");
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "lifetime").AbsoluteUri);
            await Expect(page.GetByTestId("lifetime-heading")).ToHaveTextAsync("Lifetime");
            await Expect(page.GetByTestId("lifetime-order-status")).ToHaveTextAsync("Paid");
            await shots.TakeAsync(page, "lifetime");

            // The billing history lists the order: product, $299.00 from Polar's 29900 cents, paid.
            await page.GotoAsync("/account");
            var order = page.GetByTestId("order");
            await Expect(order).ToHaveCountAsync(1);
            await Expect(order).ToHaveAttributeAsync("data-product-id", PolarEmulator.DemoLifetimeProductId);
            await Expect(order.GetByTestId("order-product")).ToHaveTextAsync("Pro Lifetime");
            await Expect(order.GetByTestId("order-reason")).ToHaveTextAsync("One-time purchase");
            await Expect(order.GetByTestId("order-amount")).ToHaveTextAsync("$299.00");
            await Expect(order.GetByTestId("order-status")).ToHaveTextAsync("Paid");
            var orderId = await order.GetAttributeAsync("data-order-id");
            Assert.Matches("^[0-9a-f-]{36}$", orderId);

            // Its invoice: Polar makes it on the first request (202, Retry-After), then the button becomes a link to it.
            await order.GetByTestId("order-invoice").ClickAsync();
            var invoice = order.GetByTestId("order-invoice-link");
            await Expect(invoice).ToBeVisibleAsync();
            await Expect(invoice).ToHaveAttributeAsync("href", new Regex("^https?://"));
            await Expect(order.GetByTestId("order-invoice-error")).ToBeHiddenAsync();
            Assert.Contains(polar.ApiRequests, r => r.Method == "POST" && r.Path == $"/v1/orders/{orderId}/invoice");
            await shots.TakeAsync(page, "billing-history");

            // A full refund in Polar's dashboard (the emulator's control API).
            using (var dashboard = new HttpClient { BaseAddress = polar.BaseUrl })
            {
                var refund = await dashboard.PostAsJsonAsync($"_emulator/orders/{orderId}/refund", new { reason = "customer_request" }, ct);
                Assert.True(refund.IsSuccessStatusCode, $"the refund got {(int)refund.StatusCode}: {await refund.Content.ReadAsStringAsync(ct)}");
            }

            await polar.WaitForDeliveriesAsync(ct);
            // Every event reached the app; an attempt answered 503 at the database budget (a loaded machine) is sent again, as
            // Polar does, and counts once its retry is accepted.
            await Wait.UntilAsync(
                () => Task.FromResult(polar.Deliveries.GroupBy(d => d.EventId).All(e => e.Any(d => d.Succeeded))),
                because: "every event reached the app",
                timeout: TimeSpan.FromSeconds(60),
                explain: () => string.Join("; ", polar.Deliveries.GroupBy(d => d.EventId).Where(e => !e.Any(d => d.Succeeded)).Select(e => $"{e.First().EventType} got " + string.Join(", ", e.Select(d => d.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Error)))));

            // The page is closed again; the order stays in the billing history, refunded.
            await page.GotoAsync("/lifetime");
            await Expect(page).ToHaveURLAsync(new Regex("/pricing\\?ReturnUrl=%2Flifetime$"));
            await Expect(page.GetByTestId("lifetime-need-purchase")).ToBeVisibleAsync();
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("order")).ToHaveCountAsync(1);
            await Expect(page.GetByTestId("order-status")).ToHaveTextAsync("Refunded");
            await shots.TakeAsync(page, "account-after-refund");

            // Another user sees no order, and the invoice route answers 404 for this one.
            await page.GetByTestId("sign-out").ClickAsync();
            await SignInAsync(page, baseUrl, $"eve.{Guid.NewGuid():N}@kavachpolar.dev", "Eve");
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("orders-none")).ToBeVisibleAsync();
            var status = await page.EvaluateAsync<int>("id => fetch(`/api/kavach/auth/polar/orders/${id}/invoice`, { method: 'POST' }).then(r => r.status)", orderId);
            Assert.Equal(404, status);
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    private static async Task SignInAsync(IPage page, Uri baseUrl, string email, string name)
    {
        await page.GotoAsync("/signin?returnUrl=%2Fpricing");
        await page.GetByTestId("sign-in-email").FillAsync(email);
        await page.GetByTestId("sign-in-name").FillAsync(name);
        await page.GetByTestId("sign-in-submit").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "pricing").AbsoluteUri);
    }

    [GeneratedRegex("/billing/success\\?checkout_id=[0-9a-f-]{36}$")]
    private static partial Regex SuccessUrl();
}
