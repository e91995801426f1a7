using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace KavachPolar.Browser.Tests;

/// <summary>Headless Debian Chromium through Playwright; fails loudly when Chromium is missing.</summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    /// <summary><c>KAVACH_TEST_CHROMIUM</c>, else <c>/usr/bin/chromium</c>.</summary>
    public static string ChromiumPath
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("KAVACH_TEST_CHROMIUM");
            return string.IsNullOrWhiteSpace(configured) ? "/usr/bin/chromium" : configured;
        }
    }

    /// <summary>How long an action or an expectation may wait: generous, as the full suite shares two cores (15 s ran out once with two suites and stress-ng --cpu 2 on them).</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits until the page's URL has left <paramref name="baseUrl"/> (for Polar's checkout). Playwright's
    /// <c>Expect</c> polls the URL only; <c>WaitForURLAsync</c> also waits for a load state, even with
    /// <c>WaitUntil = Commit</c> when the URL already matches as it is called, and that wait timed out under contention
    /// with the page rendered and the network idle (r19, and clean-clone runs in two sessions).
    /// </summary>
    public static Task LeftAsync(IPage page, Uri baseUrl) =>
        Assertions.Expect(page).Not.ToHaveURLAsync(new Regex("^" + Regex.Escape(baseUrl.AbsoluteUri)));

    public static async Task<Browser> LaunchAsync()
    {
        var path = ChromiumPath;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {path}. The browser tests need it: run scripts/test.sh (it installs Debian's chromium), " +
                "or `apt-get install chromium`, or set KAVACH_TEST_CHROMIUM to a Chromium executable.");
        }

        Assertions.SetDefaultExpectTimeout((float)StepTimeout.TotalMilliseconds);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                Args =
                [
                    "--no-sandbox",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            });
            return new Browser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A page in a fresh context (cookies of its own) that resolves relative URLs against <paramref name="baseUrl"/> and whose
    /// actions wait up to <see cref="StepTimeout"/>; disposing the browser closes it.
    /// </summary>
    public async Task<IPage> NewPageAsync(Uri baseUrl, ViewportSize? viewport = null)
    {
        var options = new BrowserNewContextOptions { BaseURL = baseUrl.AbsoluteUri };
        if (viewport is not null)
        {
            options.ViewportSize = viewport;
        }

        var context = await Instance.NewContextAsync(options);
        context.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Instance.DisposeAsync();
        _playwright.Dispose();
    }
}
