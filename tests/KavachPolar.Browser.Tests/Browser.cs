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
    /// For <c>WaitForURLAsync</c>: the navigation has committed to the URL; the steps after it wait for what they need
    /// (Playwright's <c>Expect</c>). Waiting for the load event as well timed out twice under contention although the
    /// page had rendered and the network was idle (r19 and a clean-clone run this session).
    /// </summary>
    public static readonly PageWaitForURLOptions UntilCommitted = new() { WaitUntil = WaitUntilState.Commit };

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
