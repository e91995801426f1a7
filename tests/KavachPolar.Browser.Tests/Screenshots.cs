using Microsoft.Playwright;

namespace KavachPolar.Browser.Tests;

/// <summary>
/// Full-page screenshots of each step, saved under <c>TestResults/screenshots/</c> in the test output folder,
/// attached to the test result and listed in its output.
/// </summary>
public sealed class Screenshots(string testName)
{
    private int _step;

    public string Directory { get; } = System.IO.Directory.CreateDirectory(
        Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots", testName)).FullName;

    public async Task TakeAsync(IPage page, string step)
    {
        var name = $"{++_step:00}-{step}.png";
        var path = Path.Combine(Directory, name);
        var bytes = await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Current.AddAttachment(name, bytes, "image/png");
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
    }
}
