using System.Text.RegularExpressions;
using KavachPolar.Sample.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KavachPolar.Browser.Tests;

/// <summary>The sample's benefit-gated page in a real browser: closed, opened by a grant, closed again by a revoke at Polar.</summary>
public sealed partial class BenefitJourneyTests
{
    [Fact]
    public async Task The_downloads_page_opens_with_the_downloads_grant_shows_the_license_key_masked_and_closes_when_Polar_revokes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 900 });
        var shots = new Screenshots(nameof(The_downloads_page_opens_with_the_downloads_grant_shows_the_license_key_masked_and_closes_when_Polar_revokes));
        var email = $"grace.{Guid.NewGuid():N}@kavachpolar.dev";

        try
        {
            await page.GotoAsync("/signin?returnUrl=%2Fpricing");
            await page.GetByTestId("sign-in-email").FillAsync(email);
            await page.GetByTestId("sign-in-name").FillAsync("Grace Hopper");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "pricing").AbsoluteUri);

            // No benefit yet: the downloads page sends the user to pricing, and the account lists no benefit.
            await page.GetByTestId("nav-downloads").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/pricing\\?ReturnUrl=%2Fdownloads$"));
            await Expect(page.GetByTestId("downloads-need-benefit")).ToBeVisibleAsync();
            await shots.TakeAsync(page, "downloads-refused");
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("benefits-none")).ToBeVisibleAsync();

            // Subscribe to Pro, which carries Downloads, Beta features, a license key and (in the sample) AI token credits.
            await page.GotoAsync("/pricing");
            await page.GetByTestId("subscribe-pro").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");
            // The grants come in their own webhooks, after the subscription's.
            await polar.WaitForDeliveriesAsync(ct);

            // The page opens, with the benefit's file.
            await page.GetByTestId("nav-downloads").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "downloads").AbsoluteUri);
            await Expect(page.GetByTestId("downloads-heading")).ToHaveTextAsync("Downloads");
            await Expect(page.GetByTestId("downloads-file")).ToHaveCountAsync(1);
            await shots.TakeAsync(page, "downloads");

            // The account lists the benefits, the license key masked as Polar sends it.
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("benefit")).ToHaveCountAsync(4);
            Assert.Equal(["AI tokens included", "Beta features", "Downloads", "License key"], (await page.GetByTestId("benefit").AllInnerTextsAsync()).Order(StringComparer.Ordinal));
            await Expect(page.GetByTestId("license-key")).ToHaveTextAsync(new Regex("^\\*\\*\\*\\*-[0-9A-F]{6}$"));
            await Expect(page.GetByTestId("license-key-note")).ToBeVisibleAsync();
            await shots.TakeAsync(page, "account-benefits");

            // Polar revokes the subscription (an immediate revoke in its dashboard): its grants are revoked with it.
            var customer = polar.Customers.Single(c => c.Email == email);
            var subscriptionId = polar.BenefitGrants.First(g => g.CustomerId == customer.Id && g.SubscriptionId is not null).SubscriptionId!;
            await polar.RevokeSubscriptionAsync(subscriptionId, ct);
            await polar.WaitForDeliveriesAsync(ct);
            Assert.Contains(polar.Deliveries, d => d.EventType == "benefit_grant.revoked");
            // Every event reached the app; an attempt answered 503 at the database budget (a loaded machine) is sent again, as
            // Polar does, and counts once its retry is accepted.
            await Wait.UntilAsync(
                () => Task.FromResult(polar.Deliveries.GroupBy(d => d.EventId).All(e => e.Any(d => d.Succeeded))),
                because: "every event reached the app",
                timeout: TimeSpan.FromSeconds(60),
                explain: () => string.Join("; ", polar.Deliveries.GroupBy(d => d.EventId).Where(e => !e.Any(d => d.Succeeded)).Select(e => $"{e.First().EventType} got " + string.Join(", ", e.Select(d => d.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Error)))));

            // The page is closed again, and the account lists no benefit.
            await page.GotoAsync("/downloads");
            await Expect(page).ToHaveURLAsync(new Regex("/pricing\\?ReturnUrl=%2Fdownloads$"));
            await Expect(page.GetByTestId("downloads-need-benefit")).ToBeVisibleAsync();
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("benefits-none")).ToBeVisibleAsync();
            await shots.TakeAsync(page, "account-after-revoke");
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    [GeneratedRegex("/billing/success\\?checkout_id=[0-9a-f-]{36}$")]
    private static partial Regex SuccessUrl();
}
