using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace KavachPolar.Package.Tests;

/// <summary>What <c>dotnet pack -c Release</c> puts in the two packages.</summary>
public sealed class PackageContentTests(PackedPackages packages)
{
    public static TheoryData<string> Ids => new(PackedPackages.Ids);

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_carries_the_repository_readme_the_MIT_license_expression_and_the_repository(string id)
    {
        using var package = ZipFile.OpenRead(packages.PackagePath(id));
        var readme = package.GetEntry("README.md");
        Assert.NotNull(readme);
        using (var reader = new StreamReader(readme.Open()))
        {
            Assert.Equal(File.ReadAllText(Path.Combine(Repository.Root, "README.md")), reader.ReadToEnd());
        }

        var metadata = packages.Metadata(id);
        Assert.Equal(packages.Version, Value(metadata, "version"));
        Assert.Equal("README.md", Value(metadata, "readme"));
        var license = Element(metadata, "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")));
        var repository = Element(metadata, "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_carries_the_xml_documentation_of_its_public_api(string id)
    {
        using var package = ZipFile.OpenRead(packages.PackagePath(id));
        var entry = package.GetEntry($"lib/net10.0/{id}.xml");
        Assert.NotNull(entry);
        using var stream = entry.Open();
        var doc = XDocument.Load(stream);
        Assert.Equal(id, doc.Root?.Element("assembly")?.Element("name")?.Value);
        var documentedTypes = doc.Descendants("member").Count(m => m.Attribute("name")?.Value.StartsWith("T:", StringComparison.Ordinal) == true);
        Assert.True(documentedTypes > 0, $"{id}.xml documents no types.");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_ships_only_its_own_assembly_and_no_build_only_dependencies(string id)
    {
        using var package = ZipFile.OpenRead(packages.PackagePath(id));
        var names = package.Entries.Select(e => e.FullName).ToList();
        Assert.Equal([$"lib/net10.0/{id}.dll"], names.Where(n => n.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)));
        Assert.DoesNotContain(names, n => n.Contains("Tests", StringComparison.OrdinalIgnoreCase)
            || n.Contains("Sample", StringComparison.OrdinalIgnoreCase)
            || n.Contains("Emulator.", StringComparison.OrdinalIgnoreCase)
            || n.Contains("Benchmarks", StringComparison.OrdinalIgnoreCase)
            || n.EndsWith(".runtimeconfig.json", StringComparison.OrdinalIgnoreCase)
            || n.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase));

        var dependencies = packages.Metadata(id).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => e.Attribute("id")!.Value).ToList();
        Assert.DoesNotContain(dependencies, d => d.StartsWith("Microsoft.SourceLink", StringComparison.Ordinal)
            || d == "Microsoft.EntityFrameworkCore.Design"
            || d.StartsWith("xunit", StringComparison.OrdinalIgnoreCase)
            || d.StartsWith("KavachPolar.", StringComparison.Ordinal) && d != "KavachPolar.Testing");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Symbol_package_carries_the_portable_pdb_matching_a_deterministic_build(string id)
    {
        Assert.True(File.Exists(packages.SymbolPackagePath(id)), $"{id}.{packages.Version}.snupkg was not produced.");
        using var package = ZipFile.OpenRead(packages.PackagePath(id));
        using var symbols = ZipFile.OpenRead(packages.SymbolPackagePath(id));
        using var pe = new PEReader(Read(package, $"lib/net10.0/{id}.dll"));
        var debug = pe.ReadDebugDirectory();
        Assert.Contains(debug, d => d.Type == DebugDirectoryEntryType.Reproducible);
        var codeView = pe.ReadCodeViewDebugDirectoryData(debug.Single(d => d.Type == DebugDirectoryEntryType.CodeView));

        using var pdbProvider = MetadataReaderProvider.FromPortablePdbStream(Read(symbols, $"lib/net10.0/{id}.pdb"));
        var pdb = pdbProvider.GetMetadataReader();
        Assert.Equal(codeView.Guid, new BlobContentId(pdb.DebugMetadataHeader!.Id).Guid);
    }

    private static MemoryStream Read(ZipArchive archive, string name)
    {
        var entry = archive.GetEntry(name);
        Assert.True(entry is not null, $"{name} is missing.");
        var copy = new MemoryStream();
        using (var stream = entry.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        return copy;
    }

    private static XElement Element(XElement metadata, string name) =>
        metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name) ?? throw new Xunit.Sdk.XunitException($"The nuspec has no <{name}>.");

    private static string Value(XElement metadata, string name) => Element(metadata, name).Value;
}
