using Microsoft.Extensions.Logging.Testing;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Every log record a test app wrote (<see cref="FakeLogCollector"/>), as searchable lines:
/// <c>{level} {category}[{event id}] {message} {structured state} {exception}</c>.
/// </summary>
public sealed class TestLogs(FakeLogCollector collector)
{
    public FakeLogCollector Collector { get; } = collector;

    public IReadOnlyList<string> Lines => [.. Collector.GetSnapshot().Select(Format)];

    public string AllText => string.Join('\n', Lines);

    private static string Format(FakeLogRecord r)
    {
        var state = r.StructuredState is { } pairs ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
        return $"{r.Level} {r.Category}[{r.Id.Id}] {r.Message} {state} {r.Exception}";
    }
}
