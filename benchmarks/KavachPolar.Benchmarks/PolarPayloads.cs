using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KavachPolar.Benchmarks;

/// <summary>Compact Polar webhook bodies of an exact size, built from the example payloads.</summary>
internal static class PolarPayloads
{
    /// <summary>
    /// A real Polar event (customer.state_changed below 4 KiB, checkout.created above), serialized compactly
    /// as Polar sends it and padded through a <c>data.metadata</c> value to exactly <paramref name="length"/> bytes.
    /// </summary>
    public static byte[] Create(int length)
    {
        var name = length < 4096 ? "customer.state_changed.json" : "checkout.created.json";
        using var stream = typeof(PolarPayloads).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded payload {name} is missing.");
        var json = JsonNode.Parse(stream)!;
        var metadata = json["data"]!["metadata"]!.AsObject();
        metadata["note"] = "";
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var baseLength = Encoding.UTF8.GetByteCount(json.ToJsonString(options));
        if (baseLength > length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{name} is already {baseLength} bytes.");
        }

        metadata["note"] = new string('x', length - baseLength);
        var body = Encoding.UTF8.GetBytes(json.ToJsonString(options));
        return body.Length == length ? body : throw new InvalidOperationException("Padding miscounted.");
    }
}
