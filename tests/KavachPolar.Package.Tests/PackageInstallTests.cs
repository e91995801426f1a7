using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace KavachPolar.Package.Tests;

/// <summary>A new web app installs the packed packages from a folder feed the way a user installs them from NuGet.</summary>
public sealed partial class PackageInstallTests(PackedPackages packages)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task A_new_web_app_restores_builds_and_runs_against_the_packed_packages()
    {
        var ct = TestContext.Current.CancellationToken;
        var app = Path.Combine(packages.Directory, "consumer");
        Directory.CreateDirectory(app);
        foreach (var file in new[] { "ConsumerApp.csproj", "Program.cs" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "ConsumerApp", file), Path.Combine(app, file));
        }

        // The machine's own sources (read before the folder has a NuGet.config), behind the local feed.
        var sources = await MachineSourcesAsync(app, ct);
        await File.WriteAllTextAsync(Path.Combine(app, "NuGet.config"), NuGetConfig(packages.Feed, sources), ct);

        var version = "-p:KavachPolarVersion=" + packages.Version;
        var build = (await DotNet.RunAsync(app, CommandTimeout, ct, "build", "-c", "Release", version)).EnsureSuccess();
        var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"), ct);
        Assert.Contains($"\"KavachPolar/{packages.Version}\"", assets, StringComparison.Ordinal);
        Assert.Contains($"\"KavachPolar.Testing/{packages.Version}\"", assets, StringComparison.Ordinal);

        var run = await DotNet.RunAsync(app, CommandTimeout, ct, Path.Combine(app, "bin", "Release", "net10.0", "ConsumerApp.dll"), "--smoke");
        run.EnsureSuccess();
        Assert.Contains("subscription=401 webhook=400 products=200", run.Output, StringComparison.Ordinal);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"pack (both, in parallel) {packages.PackTime.TotalSeconds:0.0} s; restore+build {build.Elapsed.TotalSeconds:0.0} s; run {run.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task<List<(string Name, string Url)>> MachineSourcesAsync(string directory, CancellationToken ct)
    {
        var list = (await DotNet.RunAsync(directory, CommandTimeout, ct, "nuget", "list", "source")).EnsureSuccess();
        var lines = list.Output.Split('\n', StringSplitOptions.TrimEntries);
        var sources = new List<(string, string)>();
        for (var i = 0; i < lines.Length - 1; i++)
        {
            if (SourceHeader().Match(lines[i]) is { Success: true } header)
            {
                sources.Add((header.Groups["name"].Value, lines[i + 1]));
            }
        }

        Assert.True(sources.Count > 0, "No enabled NuGet source is configured on this machine:\n" + list.Output);
        return sources;
    }

    private static string NuGetConfig(string feed, IEnumerable<(string Name, string Url)> sources) =>
        new XDocument(
            new XElement("configuration",
                new XElement("packageSources",
                    new XElement("clear"),
                    new XElement("add", new XAttribute("key", "kavachpolar-local"), new XAttribute("value", feed)),
                    // Same keys as the machine's configuration, so its credentials (if any) still apply.
                    sources.Select(s => new XElement("add", new XAttribute("key", s.Name), new XAttribute("value", s.Url))))))
            .ToString();

    [GeneratedRegex(@"^\d+\.\s+(?<name>.+?)\s+\[Enabled\]$")]
    private static partial Regex SourceHeader();
}
