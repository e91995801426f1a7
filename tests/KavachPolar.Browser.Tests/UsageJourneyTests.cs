using System.Globalization;
using System.Text.RegularExpressions;
using KavachPolar.Sample.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KavachPolar.Browser.Tests;

/// <summary>
/// The sample's usage-billed action in a real browser: a Pro subscriber, whose plan includes AI token credits, asks for AI
/// summaries; the account page counts them and the balance goes down.
/// </summary>
public sealed partial class UsageJourneyTests
{
    [Fact]
    public async Task A_subscriber_asks_for_two_AI_summaries_and_the_account_usage_bar_counts_both_and_Polar_receives_both()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await SampleServer.StartAsync(ct);
        var baseUrl = app.BaseUrl;
        var polar = app.Services.GetRequiredService<EmbeddedPolar>().Emulator;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(baseUrl, new ViewportSize { Width = 1280, Height = 900 });
        var shots = new Screenshots(nameof(A_subscriber_asks_for_two_AI_summaries_and_the_account_usage_bar_counts_both_and_Polar_receives_both));
        var email = $"katherine.{Guid.NewGuid():N}@kavachpolar.dev";

        try
        {
            await page.GotoAsync("/signin?returnUrl=%2Fpricing");
            await page.GetByTestId("sign-in-email").FillAsync(email);
            await page.GetByTestId("sign-in-name").FillAsync("Katherine Johnson");
            await page.GetByTestId("sign-in-submit").ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(baseUrl, "pricing").AbsoluteUri);

            // No Polar customer yet: the account page has no usage to show.
            await page.GotoAsync("/account");
            await Expect(page.GetByTestId("usage-none")).ToBeVisibleAsync();

            await page.GotoAsync("/pricing");
            await page.GetByTestId("subscribe-pro").ClickAsync();
            await Browser.LeftAsync(page, baseUrl);
            await page.Locator("#pay").ClickAsync();
            await Expect(page).ToHaveURLAsync(SuccessUrl());
            await Expect(page.GetByTestId("success-status")).ToHaveTextAsync("active");

            // A subscriber, with no usage yet: zero used, nothing pending. KavachPolar keeps the "no customer" answer of the
            // first visit for up to 5 s, so the page may need a reload or two to show the new customer's meter.
            await page.GotoAsync("/account");
            await Wait.UntilAsync(
                async () => await page.GetByTestId("usage").CountAsync() == 1 || (await page.ReloadAsync()) is null,
                "the account page shows the new customer's meter once the cached 'no customer' lapses");
            await Expect(page.GetByTestId("usage")).ToHaveAttributeAsync("data-used", "0");
            await Expect(page.GetByTestId("usage-pending")).ToHaveCountAsync(0);

            // Pro includes the sample's AI token credits: Polar credits them on the grant, and the whole balance is left.
            var credits = EmbeddedPolar.AiTokenCredits.ToString(CultureInfo.InvariantCulture);
            await Wait.UntilAsync(
                async () => await page.GetByTestId("usage").GetAttributeAsync("data-credited") == credits || (await page.ReloadAsync()) is null,
                "the account page shows the credits of Pro's meter-credit grant");
            await Expect(page.GetByTestId("usage")).ToHaveAttributeAsync("data-balance", credits);
            await Expect(page.GetByTestId("usage-credited")).ToHaveTextAsync(credits);
            await Expect(page.GetByTestId("usage-remaining")).ToHaveTextAsync(credits);

            // Two summaries on the members page, each recording one ai.summary event with its token count.
            await page.GotoAsync("/members");
            await page.GetByTestId("ai-summary-submit").ClickAsync();
            await Expect(page.GetByTestId("ai-summary")).ToBeVisibleAsync();
            var tokens = int.Parse(await page.GetByTestId("ai-summary-tokens").InnerTextAsync(), CultureInfo.InvariantCulture);
            Assert.True(tokens > 0, $"a summary should cost tokens, not {tokens}");
            var firstEvent = await page.GetByTestId("ai-summary-event-id").InnerTextAsync();
            await page.GetByTestId("ai-summary-submit").ClickAsync();
            await Expect(page.GetByTestId("ai-summary-event-id")).Not.ToHaveTextAsync(firstEvent);
            await Expect(page.GetByTestId("ai-summary-tokens")).ToHaveTextAsync(tokens.ToString(CultureInfo.InvariantCulture));
            await shots.TakeAsync(page, "members-summaries");

            // The account's usage bar counts both: as pending (recorded here, not yet in Polar's meter) or consumed at Polar,
            // whichever the moment finds; never fewer, never more.
            await page.GotoAsync("/account");
            var usage = page.GetByTestId("usage");
            await Expect(usage).ToHaveAttributeAsync("data-used", (2 * tokens).ToString(CultureInfo.InvariantCulture));
            // What is left goes down at once, whether Polar's meter counts the summaries yet or they are pending here.
            var left = (EmbeddedPolar.AiTokenCredits - (2 * tokens)).ToString(CultureInfo.InvariantCulture);
            await Expect(page.GetByTestId("usage-remaining")).ToHaveTextAsync(left);
            var pending = int.Parse(await usage.GetAttributeAsync("data-pending-events") ?? "", CultureInfo.InvariantCulture);
            var consumed = decimal.Parse(await usage.GetAttributeAsync("data-consumed") ?? "", CultureInfo.InvariantCulture);
            Assert.Equal(2 * tokens, consumed + (pending * tokens));
            if (pending > 0)
            {
                await Expect(page.GetByTestId("usage-pending")).ToHaveTextAsync($"{pending} pending");
            }

            await shots.TakeAsync(page, "account-usage");

            // Polar receives both, once each, for this user, with the sample's metadata.
            var customer = polar.Customers.Single(c => c.Email == email);
            List<KavachPolar.Testing.EmulatorIngestedEvent> Received() => polar.IngestedEvents.Where(e => e.ExternalCustomerId == customer.ExternalId).ToList();
            await Wait.UntilAsync(() => Task.FromResult(Received().Count >= 2), "the sample's sender delivers both events to Polar");
            var received = Received();
            Assert.Equal(2, received.Count);
            Assert.All(received, e => Assert.Equal("ai.summary", e.Name));
            Assert.All(received, e => Assert.Contains($"\"tokens\":{tokens}", e.Metadata, StringComparison.Ordinal));
            Assert.Equal(2, received.Select(e => e.ExternalId).Distinct(StringComparer.Ordinal).Count());

            // Polar recomputes the meter 15 s after the last event (on the emulator's clock): then both are consumed, none pending.
            await polar.AdvanceTimeAsync(TimeSpan.FromSeconds(16), ct);
            await Wait.UntilAsync(
                async () =>
                {
                    await page.ReloadAsync();
                    return await usage.GetAttributeAsync("data-pending-events") == "0"
                        && await usage.GetAttributeAsync("data-consumed") == (2 * tokens).ToString(CultureInfo.InvariantCulture);
                },
                "the account page shows Polar's recomputed meter once the sample's 5 s cache lapses");
            await Expect(usage).ToHaveAttributeAsync("data-used", (2 * tokens).ToString(CultureInfo.InvariantCulture));
            await Expect(page.GetByTestId("usage-pending")).ToHaveCountAsync(0);
            // Polar's own balance has gone down by both summaries: the credits less the tokens they cost.
            await Expect(page.GetByTestId("usage-balance")).ToHaveTextAsync(left);
            await Expect(page.GetByTestId("usage-remaining")).ToHaveTextAsync(left);
            await Expect(usage).ToHaveAttributeAsync("data-credited", credits);
            await shots.TakeAsync(page, "account-usage-consumed");
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
