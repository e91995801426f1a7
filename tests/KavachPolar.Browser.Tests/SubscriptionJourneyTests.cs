using System.Text.RegularExpressions;
using KavachPolar.Sample.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KavachPolar.Browser.Tests;

/// <summary>The sample app in a real browser, the way a newcomer first uses it.</summary>
public sealed partial class SubscriptionJourneyTests
{
    [Fact]
    public async Task A_new_user_subscribes_to_Pro_through_the_hosted_checkout_then_schedules_a_cancellation_and_resumes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 860 });
        var shots = new Screenshots(nameof(A_new_user_subscribes_to_Pro_through_the_hosted_checkout_then_schedules_a_cancellation_and_resumes));
        var email = $"ada.{Guid.NewGuid():N}@kavachpolar.dev";

        try
        {
            // Sign in (development sign-in), landing on pricing.
            await page.GotoAsync("/signin");
            await page.GetByTestId("sign-in-email").FillAsync(email);
            await page.GetByTestId("sign-in-name").FillAsync("Ada Lovelace");
            await shots.TakeAsync(page, "sign-in");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "pricing").AbsoluteUri);
            await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync("Ada Lovelace");

            // Pricing lists the emulator's products with price and interval.
            var pro = page.GetByTestId("plan-pro");
            await Expect(pro.Locator(".plan-name")).ToHaveTextAsync("Pro");
            await Expect(page.GetByTestId("price-pro")).ToContainTextAsync("$19.00");
            await Expect(page.GetByTestId("price-pro")).ToContainTextAsync("month");
            await shots.TakeAsync(page, "pricing");

            // Subscribe: the page asks KavachPolar for a checkout and opens Polar's (the emulator's) hosted page.
            await page.GetByTestId("subscribe-pro").ClickAsync();
            await page.WaitForURLAsync(url => !url.StartsWith(baseUrl.AbsoluteUri, StringComparison.Ordinal));
            await Expect(page.Locator("#product-name")).ToHaveTextAsync("Pro");
            await Expect(page.Locator("#email")).ToHaveValueAsync(email);
            await shots.TakeAsync(page, "checkout");

            // Pay: Polar redirects to the success page, which reconciles the checkout and shows the subscription.
            await page.Locator("#pay").ClickAsync();
            await page.WaitForURLAsync(SuccessUrl());
            var success = page.GetByTestId("success");
            await Expect(success).ToHaveAttributeAsync("data-state", "done");
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("success-product")).ToHaveTextAsync("Pro");
            await Expect(page.GetByTestId("success-renewal")).Not.ToBeEmptyAsync();
            await shots.TakeAsync(page, "success");

            // Account: active, Pro, renews at the end of the period.
            await page.GetByTestId("go-to-account").ClickAsync();
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("subscription-product")).ToHaveTextAsync("Pro");
            var renewal = await page.GetByTestId("subscription-renewal").InnerTextAsync();
            Assert.Matches(DateText(), renewal);
            await Expect(page.GetByTestId("cancels-at-period-end")).ToHaveCountAsync(0);
            await shots.TakeAsync(page, "account-active");

            // Cancel at period end: still active, scheduled to end at the same date.
            await page.GetByTestId("cancel-subscription").ClickAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToContainTextAsync(renewal);
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("will end on " + renewal);
            await shots.TakeAsync(page, "account-cancel-scheduled");

            // Resume: the scheduled cancellation is gone.
            await page.GetByTestId("resume-subscription").ClickAsync();
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("continues");
            await Expect(page.GetByTestId("cancels-at-period-end")).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("cancel-subscription")).ToBeVisibleAsync();

            // OnSubscriptionChange recorded the changes (it runs in the background, after commit): at least the
            // subscription appearing, the cancellation being scheduled and it being lifted.
            var changes = page.GetByTestId("subscription-change");
            var deadline = DateTime.UtcNow + Browser.StepTimeout;
            while (await changes.CountAsync() < 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct);
                await page.ReloadAsync();
            }

            var rows = await changes.AllInnerTextsAsync();
            Assert.True(rows.Count >= 3, "Expected at least 3 recorded subscription changes, saw:\n" + string.Join('\n', rows));
            Assert.Contains(rows, r => r.Contains("none → active", StringComparison.Ordinal));
            Assert.Contains(rows, r => r.Contains("active → active (cancels at period end)", StringComparison.Ordinal));
            await shots.TakeAsync(page, "account-resumed");

            // Every webhook Polar sent during the journey was accepted.
            var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;
            await polar.WaitForDeliveriesAsync(ct);
            Assert.Contains(polar.Deliveries, d => d.EventType == "subscription.uncanceled");
            Assert.All(polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Error}"));

            // Sign out: the account page asks to sign in again.
            await page.GetByTestId("sign-out").ClickAsync();
            await Expect(page.GetByTestId("nav-sign-in")).ToBeVisibleAsync();
            await page.GotoAsync("/account");
            await Expect(page).ToHaveURLAsync(new Regex("/signin\\?ReturnUrl=%2Faccount$"));
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    [Fact]
    public async Task A_subscriber_changes_plan_enters_the_members_area_cancels_resumes_and_opens_the_billing_portal()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 900 });
        var shots = new Screenshots(nameof(A_subscriber_changes_plan_enters_the_members_area_cancels_resumes_and_opens_the_billing_portal));

        try
        {
            await page.GotoAsync("/signin");
            await page.GetByTestId("sign-in-email").FillAsync($"grace.{Guid.NewGuid():N}@kavachpolar.dev");
            await page.GetByTestId("sign-in-name").FillAsync("Grace Hopper");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "pricing").AbsoluteUri);

            // Not subscribed: the members page sends the user to pricing, and the members API answers 403.
            await page.GotoAsync("/members");
            await Expect(page.GetByTestId("members-need-subscription")).ToBeVisibleAsync();
            var refused = await page.Context.APIRequest.GetAsync("/api/members/prompt");
            Assert.Equal(403, refused.Status);
            Assert.Contains("subscription_required", await refused.TextAsync(), StringComparison.Ordinal);
            await shots.TakeAsync(page, "members-refused");

            // Subscribe to Pro through the hosted checkout.
            await page.GetByTestId("subscribe-pro").ClickAsync();
            await page.WaitForURLAsync(url => !url.StartsWith(baseUrl.AbsoluteUri, StringComparison.Ordinal));
            await page.Locator("#pay").ClickAsync();
            await page.WaitForURLAsync(SuccessUrl());
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");

            // The members area opens at once, page and API.
            await page.GotoAsync("/members");
            await Expect(page.GetByTestId("members-heading")).ToHaveTextAsync("Members");
            Assert.Equal(200, (await page.Context.APIRequest.GetAsync("/api/members/prompt")).Status);
            await shots.TakeAsync(page, "members");

            // Pricing offers a plan change, not a second checkout.
            await page.GotoAsync("/pricing");
            await Expect(page.GetByTestId("current-plan-pro")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("subscribe-team")).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("switch-team")).ToBeVisibleAsync();
            await shots.TakeAsync(page, "pricing-subscribed");

            // Change plan on the account page, with the proration stated in words.
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("proration-next_period-explained")).ToContainTextAsync("Keep Pro until");
            await page.GetByTestId("change-plan-product").SelectOptionAsync(new SelectOptionValue { Label = "Team ($49.00 / month)" });
            await shots.TakeAsync(page, "change-plan");
            await page.GetByTestId("change-plan-submit").ClickAsync();
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("You are now on Team.");
            await Expect(page.GetByTestId("subscription-product")).ToHaveTextAsync("Team");
            await shots.TakeAsync(page, "plan-changed");

            // Cancel, then resume; the members area stays open while the subscription runs to its end.
            await page.GetByTestId("cancel-subscription").ClickAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("change-plan-blocked")).ToBeVisibleAsync();
            Assert.Equal(200, (await page.Context.APIRequest.GetAsync("/api/members/prompt")).Status);
            await page.GetByTestId("resume-subscription").ClickAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToHaveCountAsync(0);

            // Manage billing opens Polar's customer portal (the emulator's) for this customer.
            await page.GetByTestId("manage-billing").ClickAsync();
            await page.WaitForURLAsync(url => !url.StartsWith(baseUrl.AbsoluteUri, StringComparison.Ordinal));
            Assert.Contains("customer_session_token=", page.Url, StringComparison.Ordinal);
            await Expect(page.Locator("body")).ToContainTextAsync("Customer portal");
            await Expect(page.Locator("body")).ToContainTextAsync("Team: active");
            await shots.TakeAsync(page, "portal");
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    [Fact]
    public async Task When_Polar_fails_to_create_the_checkout_the_pricing_page_explains_it_and_the_button_works_again()
    {
        await using var app = await SampleServer.StartAsync(TestContext.Current.CancellationToken);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(app.BaseUrl);
        var shots = new Screenshots(nameof(When_Polar_fails_to_create_the_checkout_the_pricing_page_explains_it_and_the_button_works_again));
        var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;
        polar.InjectFault(HttpMethod.Post, "/v1/checkouts/", 503);

        await page.GotoAsync("/signin?returnUrl=%2Fpricing");
        await page.GetByTestId("sign-in-email").FillAsync($"lin.{Guid.NewGuid():N}@kavachpolar.dev");
        await page.GetByTestId("sign-in-submit").ClickAsync();
        await page.GetByTestId("subscribe-team").ClickAsync();

        var error = page.GetByTestId("checkout-error");
        await Expect(error).ToBeVisibleAsync();
        await Expect(error).Not.ToBeEmptyAsync();
        await Expect(page.GetByTestId("subscribe-team")).ToBeEnabledAsync();
        await Expect(page.GetByTestId("subscribe-team")).ToHaveTextAsync("Subscribe to Team");
        Assert.StartsWith(app.BaseUrl.AbsoluteUri, page.Url, StringComparison.Ordinal);
        await shots.TakeAsync(page, "checkout-failed");

        // The fault was one-off: the next click reaches Polar's checkout page.
        await page.GetByTestId("subscribe-team").ClickAsync();
        await Expect(page.Locator("#product-name")).ToHaveTextAsync("Team");
    }

    [GeneratedRegex("/billing/success\\?checkout_id=[0-9a-f-]{36}$")]
    private static partial Regex SuccessUrl();

    [GeneratedRegex("^[0-9]{1,2} [A-Z][a-z]+ [0-9]{4}$")]
    private static partial Regex DateText();
}
