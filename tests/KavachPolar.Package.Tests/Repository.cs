namespace KavachPolar.Package.Tests;

/// <summary>Paths in the repository under test.</summary>
public static class Repository
{
    /// <summary>The folder holding <c>KavachPolar.sln</c>, found above the test's output folder.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KavachPolar.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("KavachPolar.sln was not found above " + AppContext.BaseDirectory);
    }
}
