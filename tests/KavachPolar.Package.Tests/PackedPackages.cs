using System.Globalization;
using System.IO.Compression;
using System.Xml.Linq;

namespace KavachPolar.Package.Tests;

/// <summary>
/// Packs KavachPolar and KavachPolar.Testing once, as <c>dotnet pack -c Release</c> does, into a temp folder feed
/// with a version no cache has seen (<c>0.1.0-test.&lt;timestamp&gt;</c>), and removes that version from the
/// global packages folder afterwards.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    public static readonly string[] Ids = ["KavachPolar", "KavachPolar.Testing"];

    // A guard against a hung pack, not a speed check: packing took over 3 minutes under a load average of 30 here.
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);

    public string Version { get; } = string.Create(CultureInfo.InvariantCulture, $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}.{Environment.ProcessId}");

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("kavach-pack-").FullName;

    public string Feed => Path.Combine(Directory, "feed");

    public TimeSpan PackTime { get; private set; }

    public string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public string SymbolPackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.snupkg");

    /// <summary>The package's <c>.nuspec</c> metadata element.</summary>
    public XElement Metadata(string id)
    {
        using var package = ZipFile.OpenRead(PackagePath(id));
        using var stream = package.GetEntry(id + ".nuspec")!.Open();
        var nuspec = XDocument.Load(stream);
        return nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = DateTime.UtcNow;
        // Separate artifacts folders: the repository's own bin/obj stay untouched while other tests run.
        var packs = Ids.Select(id => DotNet.RunAsync(Repository.Root, PackTimeout, ct,
            "pack", $"src/{id}/{id}.csproj", "-c", "Release", "-o", Feed,
            "--artifacts-path", Path.Combine(Directory, "artifacts", id), "-p:Version=" + Version));
        foreach (var result in await Task.WhenAll(packs))
        {
            result.EnsureSuccess();
        }

        PackTime = DateTime.UtcNow - started;
    }

    public ValueTask DisposeAsync()
    {
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Ids)
        {
            TryDelete(Path.Combine(globalPackages, id.ToLowerInvariant(), Version.ToLowerInvariant()));
        }

        TryDelete(Directory);
        return ValueTask.CompletedTask;
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Leaves a temp folder behind at worst.
        }
    }
}
