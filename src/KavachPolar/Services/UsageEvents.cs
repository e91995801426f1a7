using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KavachPolar.Services;

/// <summary>
/// What Polar's <c>POST /v1/events/ingest</c> would refuse in one event (<c>event/schemas.py</c>: <c>EventCreateExternalCustomer</c>,
/// <c>EventMetadataInput</c>), checked before anything is written, and the metadata as the JSON sent.
/// </summary>
internal static class UsageEvents
{
    /// <summary>Polar's body limit (<c>API_MAX_REQUEST_BODY_SIZE</c>); a batch stays under it.</summary>
    public const int MaxBodyBytes = 10 * 1024 * 1024;

    /// <summary>Room in a body for the wrapper and one event's fixed fields (name, ids, timestamp).</summary>
    private const int Envelope = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> for what Polar (or this table) refuses; returns the metadata as JSON.</summary>
    public static string Validate(string userId, string eventName, IReadOnlyDictionary<string, object>? metadata, string? externalId, DateTimeOffset? timestamp, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(eventName);
        if (string.IsNullOrWhiteSpace(userId))
        {
            throw new ArgumentException("The user id is empty.", nameof(userId));
        }

        if (userId.Length > Storage.Limits.UserId || HasNul(userId))
        {
            throw new ArgumentException($"The user id must be at most {Storage.Limits.UserId} characters, without U+0000.", nameof(userId));
        }

        if (eventName.Length == 0)
        {
            throw new ArgumentException("The event name is empty: Polar's meters filter on it.", nameof(eventName));
        }

        if (Characters(eventName) > Storage.Limits.UsageEventName || HasNul(eventName))
        {
            throw new ArgumentException($"Polar refuses an event name over {Storage.Limits.UsageEventName} characters or holding U+0000 ('{Cut(eventName)}').", nameof(eventName));
        }

        if (externalId is not null && (externalId.Length == 0 || externalId.Length > Storage.Limits.UsageExternalId || HasNul(externalId)))
        {
            throw new ArgumentException($"The external id must be 1 to {Storage.Limits.UsageExternalId} characters, without U+0000.", nameof(externalId));
        }

        if (timestamp is { } t && t > now)
        {
            throw new ArgumentException($"Polar refuses a timestamp in the future ({t:O} is after now, {now:O}).", nameof(timestamp));
        }

        var json = Metadata(metadata);
        if (json.Length + Encoding.UTF8.GetByteCount(eventName) + Envelope > MaxBodyBytes)
        {
            throw new ArgumentException($"The event is larger than Polar's request limit of {MaxBodyBytes} bytes.", nameof(metadata));
        }

        return json;
    }

    /// <summary>The metadata as a JSON object, checked value by value.</summary>
    private static string Metadata(IReadOnlyDictionary<string, object>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return "{}";
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                if (key is null || HasNul(key))
                {
                    throw new ArgumentException("A metadata key holds U+0000.", nameof(metadata));
                }

                if (key is "_llm" or "_cost")
                {
                    throw new ArgumentException($"Metadata key '{key}' is Polar's structured {(key == "_llm" ? "LLM" : "cost")} metadata, which takes an object; use another key.", nameof(metadata));
                }

                writer.WritePropertyName(key);
                switch (value)
                {
                    case string s when Characters(s) is >= 1 and <= 500 && !HasNul(s):
                        writer.WriteStringValue(s);
                        break;
                    case string:
                        throw new ArgumentException($"Metadata '{Cut(key)}': Polar takes strings of 1 to 500 characters without U+0000.", nameof(metadata));
                    case bool b:
                        writer.WriteBooleanValue(b);
                        break;
                    case int or long or short or sbyte or byte or ushort or uint:
                        writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                        break;
                    case ulong u:
                        writer.WriteNumberValue(u);
                        break;
                    case double d when double.IsFinite(d):
                        writer.WriteNumberValue(d);
                        break;
                    case float f when float.IsFinite(f):
                        writer.WriteNumberValue(f);
                        break;
                    case decimal m:
                        writer.WriteNumberValue(m);
                        break;
                    default:
                        throw new ArgumentException(
                            $"Metadata '{Cut(key)}': Polar takes a string, an integer, a finite number or a bool, not {(value is null ? "null" : value.GetType().Name)}{(value is double or float ? " that is not finite" : "")}.",
                            nameof(metadata));
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Characters as Python counts them (code points), which is how Polar's length limits count.</summary>
    private static int Characters(string s)
    {
        var count = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static bool HasNul(string s) => s.Contains('\0', StringComparison.Ordinal);

    private static string Cut(string s) => s.Length <= 40 ? s.Replace("\0", "\\0", StringComparison.Ordinal) : s[..40].Replace("\0", "\\0", StringComparison.Ordinal) + "…";
}
