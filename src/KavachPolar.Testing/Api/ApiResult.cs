using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Api;

/// <summary>A successful API answer: status and JSON body (none for 204).</summary>
internal sealed record ApiResult(int Status, JsonNode? Body);
