using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Api;

/// <summary>
/// A successful API answer: status and JSON body (none for 204; the JSON <c>null</c> FastAPI writes for an endpoint that
/// returns nothing with another status when <paramref name="NullBody"/> is set).
/// </summary>
internal sealed record ApiResult(int Status, JsonNode? Body, bool NullBody = false);
