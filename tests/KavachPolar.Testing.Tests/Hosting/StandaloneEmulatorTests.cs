using System.Diagnostics;
using System.Reflection;

namespace KavachPolar.Testing.Tests.Hosting;

/// <summary>The standalone <c>KavachPolar.Emulator</c> executable, started as a real process.</summary>
public sealed class StandaloneEmulatorTests
{
    private static string EmulatorPath =>
        typeof(StandaloneEmulatorTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "KavachPolarEmulatorPath").Value!;

    [Fact]
    public async Task Sigterm_stops_the_emulator_and_the_process_exits_with_0_within_five_seconds()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGTERM is a POSIX signal.");
        var executable = Path.ChangeExtension(EmulatorPath, null);
        Assert.True(File.Exists(executable), $"The emulator was not built at {executable}.");
        using var process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList = { "--urls", "http://127.0.0.1:0", "--access-token", "polar_oat_sigterm_test" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        try
        {
            var baseUrl = await ReadBaseUrlAsync(process);
            using var client = new HttpClient();
            using (var info = await client.GetAsync(new Uri(baseUrl, "_emulator/"), TestContext.Current.CancellationToken))
            {
                Assert.True(info.IsSuccessStatusCode);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
                Assert.Equal(0, kill.ExitCode);
            }

            using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                Assert.Fail("The emulator was still running five seconds after SIGTERM.");
            }

            Assert.Equal(0, process.ExitCode);
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri(baseUrl, "_emulator/"), TestContext.Current.CancellationToken));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Reads the start-up banner until the line that gives the base URL.</summary>
    private static async Task<Uri> ReadBaseUrlAsync(Process process)
    {
        const string Prefix = "Polar emulator listening at ";
        using var startup = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        startup.CancelAfter(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(startup.Token) is { } line)
        {
            if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
                return new Uri(line[Prefix.Length..].Trim());
            }
        }

        throw new InvalidOperationException("The emulator exited before listening: " + await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
    }
}
