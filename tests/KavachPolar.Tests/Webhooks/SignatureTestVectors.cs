using System.Text.Json;

namespace KavachPolar.Tests.Webhooks;

/// <summary>One entry of <c>TestData/signature-test-vectors.json</c>.</summary>
internal sealed record SignatureTestVector(
    string Name,
    string Secret,
    string Body,
    string? ExpectedSignature,
    string? HmacKeyHex,
    string? DerivedKeyHex,
    string? BodySha256Hex,
    string? Expected)
{
    public byte[] BodyBytes => System.Text.Encoding.UTF8.GetBytes(Body);
}

/// <summary>
/// Loads the signature test vectors shipped with the tests (<c>tests/TestData/signature-test-vectors.json</c>), computed with
/// Python's <c>hmac</c> and cross-checked with openssl.
/// </summary>
internal static class SignatureTestVectors
{
    private static readonly Lazy<Document> Loaded = new(Load);

    public static string WebhookId => Loaded.Value.WebhookId;

    public static string WebhookTimestamp => Loaded.Value.WebhookTimestamp;

    /// <summary>The time the vectors were produced; the vectors are inside the tolerance at this instant.</summary>
    public static DateTimeOffset SignedAt => Loaded.Value.SignedAt;

    public static IReadOnlyList<SignatureTestVector> All => Loaded.Value.Vectors;

    public static string MultiSignatureHeader => Loaded.Value.MultiSignatureHeader;

    public static SignatureTestVector Named(string name) => All.Single(v => v.Name == name);

    private static Document Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "signature-test-vectors.json");
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = json.RootElement;
        var vectors = root.GetProperty("vectors").EnumerateArray().Select(v => new SignatureTestVector(
            v.GetProperty("name").GetString()!,
            v.GetProperty("secret").GetString()!,
            v.GetProperty("body").GetString()!,
            Optional(v, "expected_webhook_signature") ?? Optional(v, "signature_with_derived_key") ?? Optional(v, "webhook_signature"),
            Optional(v, "hmac_key_hex"),
            Optional(v, "derived_key_hex"),
            Optional(v, "body_sha256_hex"),
            Optional(v, "expected"))).ToList();
        return new Document(
            root.GetProperty("webhook_id").GetString()!,
            root.GetProperty("webhook_timestamp").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("timestamp_iso").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            vectors,
            root.GetProperty("multi_signature_header_example").GetProperty("header").GetString()!);
    }

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;

    private sealed record Document(
        string WebhookId,
        string WebhookTimestamp,
        DateTimeOffset SignedAt,
        IReadOnlyList<SignatureTestVector> Vectors,
        string MultiSignatureHeader);
}
