using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Load;

/// <summary>
/// Signed Polar subscription deliveries, built from the same template for the floor and for KavachPolar.
/// Delivery (user, round) is snapshot number <c>round</c> of the user's one subscription: <c>subscription.created</c>
/// at round 0, then <c>subscription.updated</c> with <c>modified_at</c> advancing one minute a round. Every round
/// changes what the user's projection shows (the status flips active/trialing and the period end moves with the
/// round), so a later round is a real change even when the rounds in between were never sent.
/// </summary>
internal sealed partial class DeliveryFactory
{
    private static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string[] _parts;
    private readonly PolarWebhookSigner _signer = new(LoadServer.Secret);

    private DeliveryFactory(string[] parts) => _parts = parts;

    public static async Task<DeliveryFactory> CreateAsync()
    {
        var template = await LoadClient.LoadTemplateAsync();
        var data = template["data"]!.AsObject();
        template["type"] = "@type@";
        template["timestamp"] = "@timestamp@";
        data["id"] = "@subscription@";
        data["status"] = "@status@";
        data["created_at"] = LoadClient.Format(Start);
        data["modified_at"] = "@modified@";
        data["current_period_end"] = "@end@";
        data["customer_id"] = "@customer@";
        data["customer"]!["id"] = "@customer@";
        data["customer"]!["external_id"] = "@user@";

        // Literal text and marker names alternate: the markers stand with their quotes so that a value may be null.
        return new DeliveryFactory(Marker().Split(template.ToJsonString()));
    }

    public static string UserId(int user) => "load-user-" + user.ToString(CultureInfo.InvariantCulture);

    /// <summary>The body of delivery (user, round), compact as Polar sends it.</summary>
    public byte[] Body(int user, int round)
    {
        var modified = Start.AddMinutes(round);
        var sb = new StringBuilder(4096);
        for (var i = 0; i < _parts.Length; i++)
        {
            if (i % 2 == 0)
            {
                sb.Append(_parts[i]);
                continue;
            }

            sb.Append(_parts[i] switch
            {
                "type" => round == 0 ? "\"subscription.created\"" : "\"subscription.updated\"",
                "timestamp" => Quote(modified.AddTicks(user * 10L)),
                "subscription" => "\"" + LoadClient.SubscriptionId(user) + "\"",
                "status" => round % 2 == 0 ? "\"active\"" : "\"trialing\"",
                "modified" => round == 0 ? "null" : Quote(modified),
                "end" => Quote(Start.AddDays(31).AddMinutes(round)),
                "customer" => "\"" + LoadClient.CustomerId(user) + "\"",
                "user" => "\"" + UserId(user) + "\"",
                var other => throw new InvalidOperationException("unknown marker " + other),
            });
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>
    /// Delivery (user, round) as a raw HTTP/1.1 request to <paramref name="path"/>, with a new <c>webhook-id</c> and
    /// signed now, as Polar signs each delivery attempt.
    /// </summary>
    public byte[] WebhookRequest(string host, string path, int user, int round)
    {
        var body = Body(user, round);
        var id = Guid.NewGuid().ToString();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signature = _signer.Sign(id, timestamp, body);
        var head = string.Create(
            CultureInfo.InvariantCulture,
            $"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nwebhook-id: {id}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: {signature}\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }

    /// <summary>A GET of <paramref name="path"/> as <paramref name="user"/> (the load server's header authentication).</summary>
    public static byte[] GetRequest(string host, string path, int user) => GetRequest(host, path, UserId(user));

    /// <summary>A GET of <paramref name="path"/> as the user <paramref name="userId"/>.</summary>
    public static byte[] GetRequest(string host, string path, string userId) =>
        Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-User: {userId}\r\n\r\n");

    /// <summary>An HttpClient request for delivery (user, round), signed now.</summary>
    public HttpRequestMessage HttpRequest(Uri url, int user, int round) => _signer.CreateRequest(url, Body(user, round), Guid.NewGuid().ToString());

    private static string Quote(DateTimeOffset t) => "\"" + LoadClient.Format(t) + "\"";

    [GeneratedRegex("\"@([a-z]+)@\"")]
    private static partial Regex Marker();
}
