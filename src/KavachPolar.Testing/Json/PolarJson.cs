using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Json;

/// <summary>
/// Writes JSON the way Polar's pydantic models do: compact, non-ASCII raw,
/// explicit nulls, datetimes in UTC with <c>Z</c> and microseconds (dropped when zero).
/// </summary>
internal static class PolarJson
{
    private static readonly JsonSerializerOptions Compact = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize(JsonNode? node) => node is null ? "null" : node.ToJsonString(Compact);

    public static byte[] SerializeToUtf8(JsonNode? node) => Encoding.UTF8.GetBytes(Serialize(node));

    /// <summary>Formats an instant as pydantic does: <c>2026-10-01T09:16:48.801224Z</c>.</summary>
    public static string FormatDate(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        var micro = (utc.Ticks % TimeSpan.TicksPerSecond) / 10;
        var seconds = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return micro == 0 ? seconds + "Z" : seconds + "." + micro.ToString("D6", CultureInfo.InvariantCulture) + "Z";
    }

    public static JsonNode? Date(DateTimeOffset? value) => value is { } v ? JsonValue.Create(FormatDate(v)) : null;

    public static JsonNode? Str(string? value) => value is null ? null : JsonValue.Create(value);

    public static JsonNode? Clone(JsonNode? node) => node?.DeepClone();
}
