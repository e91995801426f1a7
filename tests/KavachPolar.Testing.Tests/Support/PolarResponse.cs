using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Tests.Support;

public sealed record PolarResponse(int Status, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public JsonNode Json => JsonNode.Parse(Body)!;

    public string this[string field] => Json[field]!.ToString();
}
