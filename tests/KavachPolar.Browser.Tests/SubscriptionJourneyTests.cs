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
            await Browser.LeftAsync(page, baseUrl);
            await Expect(page.Locator("#product-name")).ToHaveTextAsync("Pro");
            await Expect(page.Locator("#email")).ToHaveValueAsync(email);
            await shots.TakeAsync(page, "checkout");

            // An empty card number is refused on the page, as Stripe's card field does: nothing is paid.
            await page.Locator("#card").FillAsync("");
            await page.Locator("#pay").ClickAsync();
            await Expect(page.Locator("#card-error")).ToHaveTextAsync("Your card number is incomplete.");
            await Expect(page.Locator("#checkout")).ToHaveAttributeAsync("data-status", "open");
            await Expect(page.Locator("#email")).ToHaveValueAsync(email);
            await shots.TakeAsync(page, "checkout-card-refused");
            await page.Locator("#card").FillAsync("4242 4242 4242 4242");

            // Pay: Polar redirects to the success page, which reconciles the checkout and shows the subscription.
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
            var success = page.GetByTestId("success");
            await Expect(success).ToHaveAttributeAsync("data-state", "done");
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("success-product")).ToHaveTextAsync("Pro");
            await Expect(page.GetByTestId("success-renewal-label")).ToHaveTextAsync("Renews on");
            await Expect(page.GetByTestId("success-renewal")).ToHaveTextAsync(DateText());
            var successRenewal = await page.GetByTestId("success-renewal").InnerTextAsync();
            await shots.TakeAsync(page, "success");

            // Account: active, Pro, renews at the end of the period.
            await page.GetByTestId("go-to-account").ClickAsync();
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("active");
            await Expect(page.GetByTestId("subscription-product")).ToHaveTextAsync("Pro");
            await Expect(page.GetByTestId("subscription-renewal-label")).ToHaveTextAsync("Renews on");
            var renewal = await page.GetByTestId("subscription-renewal").InnerTextAsync();
            Assert.Matches(DateText(), renewal);
            // One date format everywhere: the success page wrote the same date the same way.
            Assert.Equal(renewal, successRenewal);
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
            var rows = await ChangesAsync(page, "cancellation lifted", rows: 3);
            Assert.Contains(rows, r => r.Contains("none → active (Pro)", StringComparison.Ordinal));
            Assert.Contains(rows, r => r.Contains("cancellation scheduled", StringComparison.Ordinal));
            Assert.DoesNotContain(rows, r => r.Contains("active → active", StringComparison.Ordinal));
            // Received times use the same date format, with the time after it.
            Assert.All(await page.GetByTestId("change-received").AllInnerTextsAsync(), t => Assert.Matches(DateTimeText(), t));
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
        // Every address either app answered 404 for (a missing favicon included), across the whole journey.
        var notFound = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Response += (_, response) =>
        {
            if (response.Status == 404)
            {
                notFound.Enqueue(response.Url);
            }
        };

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
            await Browser.LeftAsync(page, baseUrl);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
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

            // The changes table refreshes itself every 2 s, with a request the page model answers. One that comes in
            // after the plan change's POST has answered (its message now in the TempData cookie) and before the page it
            // redirects to (as on a slow connection or a loaded server) must not take the message with it: the POST
            // goes through here, then such a refresh with the browser's cookies, then the browser gets the redirect.
            var refreshedBetween = new List<int>();
            await page.RouteAsync("**/account?handler=ChangePlan", async route =>
            {
                var posted = await route.FetchAsync(new() { MaxRedirects = 0 });
                refreshedBetween.Add((await page.Context.APIRequest.GetAsync("/account?handler=Changes")).Status);
                await route.FulfillAsync(new() { Status = posted.Status, Headers = new Dictionary<string, string> { ["Location"] = posted.Headers["location"] } });
            });
            await page.GetByTestId("change-plan-submit").ClickAsync();
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("You are now on Team.");
            await page.UnrouteAllAsync();
            Assert.Equal(200, Assert.Single(refreshedBetween));
            await Expect(page.GetByTestId("subscription-product")).ToHaveTextAsync("Team");
            await shots.TakeAsync(page, "plan-changed");

            // A move back to Pro at the end of the period is scheduled (Polar holds it as a pending update), shown, and
            // dropped again with "Stay on Team", which asks Polar to forget it.
            var pro = await page.GetByTestId("change-plan-product").Locator("option[data-slug='pro']").GetAttributeAsync("value");
            await page.GetByTestId("change-plan-product").SelectOptionAsync(pro!);
            await page.GetByTestId("proration-next_period").CheckAsync();
            await page.GetByTestId("change-plan-submit").ClickAsync();
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("Pro starts on");
            await Expect(page.GetByTestId("subscription-product")).ToHaveTextAsync("Team");
            await Expect(page.GetByTestId("scheduled-product")).ToHaveTextAsync("Pro");
            await shots.TakeAsync(page, "plan-change-scheduled");
            await page.GetByTestId("keep-current-plan").ClickAsync();
            await Expect(page.GetByTestId("account-message")).ToContainTextAsync("You stay on Team");
            await Expect(page.GetByTestId("scheduled-change")).ToHaveCountAsync(0);
            var scheduling = await ChangesAsync(page, "scheduled change to Pro dropped");
            Assert.Contains(scheduling, r => r.Contains("change to Pro scheduled", StringComparison.Ordinal));

            // Cancel, then resume; the members area stays open while the subscription runs to its end.
            await page.GetByTestId("cancel-subscription").ClickAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("change-plan-blocked")).ToBeVisibleAsync();
            Assert.Equal(200, (await page.Context.APIRequest.GetAsync("/api/members/prompt")).Status);
            await page.GetByTestId("resume-subscription").ClickAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToHaveCountAsync(0);

            var renewal = await page.GetByTestId("subscription-renewal").InnerTextAsync();
            var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;

            // Manage billing opens Polar's customer portal (the emulator's) for this customer: the plan, when it renews
            // (written as the app writes dates), and the orders with their invoices.
            await page.GetByTestId("manage-billing").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            Assert.Contains("customer_session_token=", page.Url, StringComparison.Ordinal);
            var subscription = page.Locator("article.sub");
            await Expect(subscription).ToHaveAttributeAsync("data-status", "active");
            await Expect(subscription.Locator(".sub-product")).ToHaveTextAsync("Team");
            await Expect(subscription.Locator(".sub-when")).ToHaveTextAsync("Renews on " + renewal);
            // Newest first: the invoiced plan change to Team (its prorations), then the first order.
            await Expect(page.Locator("#orders tbody tr")).ToHaveCountAsync(2);
            await shots.TakeAsync(page, "portal");
            await page.Locator("#orders tbody tr").Last.Locator(".invoice").ClickAsync();
            await Expect(page.Locator("#invoice-number")).ToContainTextAsync("Invoice EMULATOR-");
            await Expect(page.Locator("#invoice-total")).ToHaveTextAsync("$19.00");
            await shots.TakeAsync(page, "portal-invoice");
            await page.Locator("#back-to-portal").ClickAsync();

            // Cancel in the portal, with a reason; back in the app, the account page shows the scheduled end.
            await page.Locator(".cancel-subscription").ClickAsync();
            await page.Locator("input[name=cancellation_reason][value=too_expensive]").CheckAsync();
            await shots.TakeAsync(page, "portal-cancel");
            await page.Locator(".confirm-cancel").ClickAsync();
            await Expect(subscription).ToHaveAttributeAsync("data-cancel-at-period-end", "true");
            await Expect(subscription.Locator(".sub-when")).ToHaveTextAsync("Ends on " + renewal);
            await polar.WaitForDeliveriesAsync(ct);
            await shots.TakeAsync(page, "portal-cancelled");
            await page.Locator("#return").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "account").AbsoluteUri);
            await Expect(page.GetByTestId("cancels-at-period-end")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("cancels-at-period-end")).ToContainTextAsync(renewal);

            // Uncancel in the portal; back in the app, the subscription simply renews again.
            await page.GetByTestId("manage-billing").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            await page.Locator(".uncancel-subscription").ClickAsync();
            await Expect(subscription).ToHaveAttributeAsync("data-cancel-at-period-end", "false");
            await Expect(subscription.Locator(".sub-when")).ToHaveTextAsync("Renews on " + renewal);
            await polar.WaitForDeliveriesAsync(ct);
            await page.Locator("#return").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "account").AbsoluteUri);
            await Expect(page.GetByTestId("cancels-at-period-end")).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("active");
            Assert.All(polar.Deliveries, d => Assert.True(d.Succeeded, $"{d.EventType} got {d.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? d.Error}"));

            // The changes table names the plan change by its products, and the portal's cancellation and uncancellation.
            var rows = await ChangesAsync(page, "cancellation lifted", atLeast: 2);
            Assert.Contains(rows, r => r.Contains("Pro → Team", StringComparison.Ordinal));
            Assert.DoesNotContain(rows, r => r.Contains("active → active", StringComparison.Ordinal));

            // On a 390 px phone the account page fits: nothing scrolls sideways, and no event type breaks mid-word.
            await page.SetViewportSizeAsync(390, 844);
            await page.ReloadAsync();
            await Expect(page.GetByTestId("subscription-change").First).ToBeVisibleAsync();
            var overflow = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            Assert.True(overflow[0] <= overflow[1], $"the account page is {overflow[0]} px wide in a {overflow[1]} px window");
            var table = await page.EvaluateAsync<int[]>("() => { const t = document.querySelector('[data-testid=subscription-changes]'); return [t.scrollWidth, t.parentElement.clientWidth]; }");
            Assert.True(table[0] <= table[1], $"the changes table is {table[0]} px wide in {table[1]} px");
            // Measured in one evaluation: the page refreshes its changes table itself, and a locator resolved between two
            // steps may meet the table while it is being replaced.
            var eventTypes = await page.EvaluateAsync<string[][]>(
                "() => [...document.querySelectorAll('[data-testid=change-event-type]')].map(e => [e.innerText, String(e.getClientRects().length)])");
            Assert.True(eventTypes.Length >= 5, $"{eventTypes.Length} event types");
            foreach (var eventType in eventTypes)
            {
                Assert.True(eventType[1] == "1", $"'{eventType[0]}' is broken over {eventType[1]} lines at 390 px");
            }

            await shots.TakeAsync(page, "account-390px");
            Assert.Empty(notFound);
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

    [Fact]
    public async Task When_the_database_is_slow_to_confirm_the_checkout_the_success_page_asks_again_and_shows_the_subscription()
    {
        await using var app = await SampleServer.StartAsync(TestContext.Current.CancellationToken);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(app.BaseUrl);
        var shots = new Screenshots(nameof(When_the_database_is_slow_to_confirm_the_checkout_the_success_page_asks_again_and_shows_the_subscription));

        // The first two confirmations get KavachPolar's answer when its database misses the time budget (503
        // store_unavailable, "try again shortly"); the page must ask again rather than give up with that message.
        var refused = 0;
        await page.RouteAsync("**/api/kavach/auth/polar/reconcile", async route =>
        {
            if (Interlocked.Increment(ref refused) <= 2)
            {
                await route.FulfillAsync(new RouteFulfillOptions
                {
                    Status = 503,
                    ContentType = "application/problem+json",
                    Body = """{"type":"https://kavachpolar.dev/problems/store_unavailable","title":"The database is unavailable; try again shortly.","status":503,"code":"store_unavailable"}""",
                });
                return;
            }

            await route.ContinueAsync();
        });

        try
        {
            await page.GotoAsync("/signin?returnUrl=%2Fpricing");
            await page.GetByTestId("sign-in-email").FillAsync($"mae.{Guid.NewGuid():N}@kavachpolar.dev");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await page.GetByTestId("subscribe-pro").ClickAsync();
            await Browser.LeftAsync(page, app.BaseUrl);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());

            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");
            Assert.True(Volatile.Read(ref refused) >= 3, $"the page confirmed after {refused} requests; two were refused");
            await shots.TakeAsync(page, "confirmed-after-503");
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    [Fact]
    public async Task A_trial_shows_its_first_charge_date_pricing_cards_line_up_and_both_apps_serve_a_favicon()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 900 });
        var shots = new Screenshots(nameof(A_trial_shows_its_first_charge_date_pricing_cards_line_up_and_both_apps_serve_a_favicon));

        try
        {
            await page.GotoAsync("/signin?returnUrl=%2Fpricing");
            await page.GetByTestId("sign-in-email").FillAsync($"mary.{Guid.NewGuid():N}@kavachpolar.dev");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await Expect(page.GetByTestId("subscribe-pro-trial")).ToBeVisibleAsync();
            await AssertPlansAlignedAsync(page);
            await Expect(page.GetByTestId("one-time").Locator(".plan")).ToHaveCountAsync(2);
            await Expect(page.GetByTestId("buy-pro-lifetime")).ToHaveTextAsync("Buy Pro Lifetime");
            await AssertFaviconAsync(page);
            await shots.TakeAsync(page, "pricing");

            await page.GetByTestId("subscribe-pro-trial").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            await Expect(page.Locator("#pay")).ToHaveTextAsync("Start trial");
            await AssertFaviconAsync(page);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("trialing");
            await Expect(page.GetByTestId("success-renewal-label")).ToHaveTextAsync("First charge on");
            await Expect(page.GetByTestId("success-renewal")).ToHaveTextAsync(DateText());
            var firstCharge = await page.GetByTestId("success-renewal").InnerTextAsync();
            await shots.TakeAsync(page, "success-trial");

            // A trial's period end is its first charge, not a renewal.
            await page.GetByTestId("go-to-account").ClickAsync();
            await Expect(page.GetByTestId("subscription-status")).ToHaveTextAsync("trialing");
            await Expect(page.GetByTestId("subscription-renewal-label")).ToHaveTextAsync("First charge on");
            await Expect(page.GetByTestId("subscription-renewal")).ToHaveTextAsync(firstCharge);
            await Expect(page.Locator("[data-testid=subscription]")).Not.ToContainTextAsync("Renews on");

            // The proration choices: the choice in bold, its explanation in the normal weight.
            var label = await page.GetByTestId("proration-invoice-label").EvaluateAsync<int>("e => parseInt(getComputedStyle(e).fontWeight)");
            var explained = await page.GetByTestId("proration-invoice-explained").EvaluateAsync<int>("e => parseInt(getComputedStyle(e).fontWeight)");
            Assert.True(label >= 600, $"the choice is {label}");
            Assert.True(explained <= 400, $"the explanation is {explained}");
            await shots.TakeAsync(page, "account-trial");

            // Subscribed, the cards differ (current plan, switch buttons with a note): prices and buttons still line up.
            await page.GotoAsync("/pricing");
            await Expect(page.GetByTestId("current-plan-pro-trial")).ToBeVisibleAsync();
            await AssertPlansAlignedAsync(page);
            await shots.TakeAsync(page, "pricing-subscribed");
        }
        catch (Exception) when (!page.IsClosed)
        {
            await shots.TakeAsync(page, "failure");
            TestContext.Current.TestOutputHelper?.WriteLine($"failed at {page.Url}");
            throw;
        }
    }

    /// <summary>Every subscription plan's card on one row has its price, and its first button, at the same height as the others.</summary>
    private static async Task AssertPlansAlignedAsync(IPage page)
    {
        var tops = await page.EvaluateAsync<double[][]>("""
            () => [...document.querySelectorAll('[data-testid=plans] .plan')].map(p => [
              p.getBoundingClientRect().top,
              p.querySelector('.plan-price').getBoundingClientRect().top,
              p.querySelector('.plan-action .btn').getBoundingClientRect().top])
            """);
        Assert.True(tops.Length >= 4, $"{tops.Length} plans");
        Assert.All(tops, t => Assert.Equal(tops[0][0], t[0], 1.0));
        Assert.All(tops, t => Assert.Equal(tops[0][1], t[1], 1.0));
        Assert.All(tops, t => Assert.Equal(tops[0][2], t[2], 1.0));
    }

    /// <summary>The page links an icon, and its address answers 200 with an image.</summary>
    private static async Task AssertFaviconAsync(IPage page)
    {
        var href = await page.Locator("link[rel=icon]").GetAttributeAsync("href");
        Assert.NotNull(href);
        var icon = await page.Context.APIRequest.GetAsync(new Uri(new Uri(page.Url), href).AbsoluteUri);
        Assert.Equal(200, icon.Status);
        Assert.StartsWith("image/", icon.Headers["content-type"], StringComparison.Ordinal);
        var ico = await page.Context.APIRequest.GetAsync(new Uri(new Uri(page.Url), "/favicon.ico").AbsoluteUri);
        Assert.Equal(200, ico.Status);
    }

    /// <summary>
    /// The texts of the changes table once at least <paramref name="atLeast"/> of its rows (and <paramref name="rows"/>
    /// in all) contain <paramref name="text"/>. <c>OnSubscriptionChange</c> runs in the background after commit; the
    /// account page refreshes the table itself every few seconds, and Playwright waits for it (the step timeout).
    /// </summary>
    private static async Task<IReadOnlyList<string>> ChangesAsync(IPage page, string text, int atLeast = 1, int rows = 0)
    {
        try
        {
            await page.WaitForFunctionAsync(
                """
                ([text, atLeast, rows]) => {
                  const all = [...document.querySelectorAll('[data-testid=subscription-change]')];
                  return all.length >= rows && all.filter(r => r.innerText.includes(text)).length >= atLeast;
                }
                """,
                new object[] { text, atLeast, rows },
                new PageWaitForFunctionOptions { PollingInterval = 250 });
        }
        catch (TimeoutException e)
        {
            var shown = await page.GetByTestId("subscription-change").AllInnerTextsAsync();
            throw new TimeoutException($"The changes table never had {atLeast} row(s) with '{text}' ({rows} in all):\n" + string.Join('\n', shown), e);
        }

        return await page.GetByTestId("subscription-change").AllInnerTextsAsync();
    }

    [GeneratedRegex("/billing/success\\?checkout_id=[0-9a-f-]{36}$")]
    private static partial Regex SuccessUrl();

    [GeneratedRegex("^[0-9]{1,2} [A-Z][a-z]+ [0-9]{4}$")]
    private static partial Regex DateText();

    [GeneratedRegex("^[0-9]{1,2} [A-Z][a-z]+ [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}$")]
    private static partial Regex DateTimeText();
}
