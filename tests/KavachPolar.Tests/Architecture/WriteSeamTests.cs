using System.Text.RegularExpressions;

namespace KavachPolar.Tests.Architecture;

/// <summary>
/// The library's write rules live in one place (docs/architecture.md, "the write seam"): these read its source, so a
/// transaction, a lock or a provider type that appears anywhere else fails here instead of in a review.
/// </summary>
public sealed partial class WriteSeamTests
{
    private static readonly string Library = Path.Combine(RepositoryRoot(), "src", "KavachPolar");

    [Fact]
    public void Provider_types_appear_only_under_Storage()
    {
        var outside = Sources()
            .Where(f => !f.Folder.StartsWith("Storage", StringComparison.Ordinal))
            .SelectMany(f => f.Lines.Select((line, i) => (f.Path, Line: i + 1, Text: line)))
            .Where(l => l.Text.Contains("Npgsql", StringComparison.Ordinal))
            .Select(l => $"{l.Path}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(outside.Count == 0, "Npgsql outside Storage/:\n" + string.Join('\n', outside));
    }

    [Fact]
    public void Only_the_billing_store_opens_transactions_and_takes_locks()
    {
        // Storage/ defines the primitives; Billing/BillingStore is their one caller for the app's state. The
        // synchronizers (subscriptions, benefit grants, orders) take the user locks their attribution decides, inside the store's
        // transaction.
        string[] allowed = ["Storage", "Billing", "Subscriptions", "Benefits", "Orders"];
        var outside = Sources()
            .Where(f => !allowed.Any(a => f.Folder.StartsWith(a, StringComparison.Ordinal)))
            .SelectMany(f => f.Lines.Select((line, i) => (f.Path, Line: i + 1, Text: line)))
            .Where(l => TransactionOrLock().IsMatch(l.Text) && !IsComment(l.Text))
            .Select(l => $"{l.Path}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(outside.Count == 0, "transactions or locks outside the store:\n" + string.Join('\n', outside));
    }

    [Fact]
    public void Only_the_billing_store_announces_changes_and_wakes_the_dispatcher_after_a_write()
    {
        // The dispatcher wakes itself (a row it settled may let the user's next one run); everything else that
        // commits a change goes through the store, which announces and signals once.
        var outside = Sources()
            .Where(f => f.Folder != "Billing" && !f.Folder.StartsWith("Storage", StringComparison.Ordinal) && !f.Path.EndsWith("CallbackDispatcher.cs", StringComparison.Ordinal))
            .SelectMany(f => f.Lines.Select((line, i) => (f.Path, Line: i + 1, Text: line)))
            .Where(l => AnnounceOrSignal().IsMatch(l.Text) && !IsComment(l.Text))
            .Select(l => $"{l.Path}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(outside.Count == 0, "announcements or dispatcher signals outside the store:\n" + string.Join('\n', outside));
    }

    [GeneratedRegex(@"StoreTransactions\.(RunAsync|LockAsync)|BeginTransaction|pg_advisory")]
    private static partial Regex TransactionOrLock();

    [GeneratedRegex(@"\.AnnounceAsync\(|signal\.Notify\(")]
    private static partial Regex AnnounceOrSignal();

    private static bool IsComment(string line) => line.TrimStart().StartsWith("//", StringComparison.Ordinal);

    private static IEnumerable<(string Path, string Folder, string[] Lines)> Sources() =>
        Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Library, p).Replace('\\', '/'))
            .Where(p => !p.StartsWith("obj/", StringComparison.Ordinal) && !p.StartsWith("bin/", StringComparison.Ordinal))
            .Select(p => (p, p.Contains('/', StringComparison.Ordinal) ? p[..p.LastIndexOf('/')] : "", File.ReadAllLines(Path.Combine(Library, p))));

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
