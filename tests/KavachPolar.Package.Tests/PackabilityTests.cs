using System.Text.RegularExpressions;

namespace KavachPolar.Package.Tests;

/// <summary>Which projects of the solution <c>dotnet pack</c> turns into packages.</summary>
public sealed partial class PackabilityTests
{
    [Fact]
    public async Task Only_the_KavachPolar_and_KavachPolar_Testing_projects_are_packable()
    {
        var ct = TestContext.Current.CancellationToken;
        var list = (await DotNet.RunAsync(Repository.Root, TimeSpan.FromMinutes(5), ct, "sln", "KavachPolar.sln", "list")).EnsureSuccess();
        var projects = list.Output.Split('\n', StringSplitOptions.TrimEntries)
            .Where(l => l.EndsWith(".csproj", StringComparison.Ordinal))
            .Select(l => l.Replace('\\', '/'))
            .ToList();
        Assert.Contains("src/KavachPolar.Emulator/KavachPolar.Emulator.csproj", projects);
        Assert.Contains("samples/KavachPolar.Sample/KavachPolar.Sample.csproj", projects);

        // Two evaluations at a time: this machine kind has two cores.
        using var gate = new SemaphoreSlim(2);
        var evaluations = projects.Select(async project =>
        {
            await gate.WaitAsync(ct);
            try
            {
                var result = (await DotNet.RunAsync(Repository.Root, TimeSpan.FromMinutes(5), ct, "msbuild", project, "-getProperty:IsPackable", "-p:Configuration=Release")).EnsureSuccess();
                return (Project: project, Packable: TrueLine().IsMatch(result.Output));
            }
            finally
            {
                gate.Release();
            }
        });
        var packable = (await Task.WhenAll(evaluations)).Where(p => p.Packable).Select(p => p.Project).Order(StringComparer.Ordinal);

        Assert.Equal(["src/KavachPolar.Testing/KavachPolar.Testing.csproj", "src/KavachPolar/KavachPolar.csproj"], packable);
    }

    [GeneratedRegex(@"^\s*true\s*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex TrueLine();
}
