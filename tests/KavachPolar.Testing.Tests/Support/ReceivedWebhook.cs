using System.Text;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>One POST the receiver got: the raw body bytes and the headers, as sent.</summary>
public sealed record ReceivedWebhook(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset ReceivedAt)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string Id => Headers["webhook-id"];

    public long Timestamp => long.Parse(Headers["webhook-timestamp"], System.Globalization.CultureInfo.InvariantCulture);

    public string Signature => Headers["webhook-signature"];

    public string Type => System.Text.Json.JsonDocument.Parse(Body).RootElement.GetProperty("type").GetString()!;
}
