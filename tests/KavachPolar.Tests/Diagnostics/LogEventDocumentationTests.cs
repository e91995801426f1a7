using System.Reflection;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Tests.Diagnostics;

/// <summary>Every log event id KavachPolar writes has a row in the README's table, so an operator can look it up.</summary>
public sealed class LogEventDocumentationTests
{
    [Fact]
    public void Every_log_event_id_is_listed_in_the_readme_once()
    {
        var ids = typeof(KavachPolarOptions).Assembly.GetType("KavachPolar.Diagnostics.Log")!
            .GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();
        var readme = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(ids.Count >= 35, $"only {ids.Count} log events found");
        Assert.All(ids, id => Assert.Single(readme, l => l.StartsWith($"| {id} |", StringComparison.Ordinal)));
    }

    private static string RepositoryRoot()
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
