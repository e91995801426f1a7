using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Webhook bodies built from Polar's example payloads (tests/TestData/webhooks), changed only where a
/// test needs it, and serialized compactly as Polar sends them.
/// </summary>
public static class PolarPayloads
{
    public const string ExampleSubscriptionId = "e5149aae-e521-42b9-b24c-abb3d71eea2e";
    public const string ExampleCustomerId = "992fae2a-2a17-4b7a-8d9e-e287cf90131b";
    public const string ExampleExternalId = "usr_1337";
    public const string ExampleProductId = "d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23";
    public const string ExampleOrganizationId = "1dbfc517-0bbf-4301-9ba8-555ca42b9737";

    /// <summary>The instant the tests' subscription histories start from (a version, a <c>created_at</c>).</summary>
    public static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 16, 48, 730, TimeSpan.Zero);

    public static string TestDataPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    public static JsonObject Example(string fileName) =>
        JsonNode.Parse(File.ReadAllText(TestDataPath("webhooks", fileName)))!.AsObject();

    public static byte[] Compact(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    /// <summary>
    /// A <c>subscription.*</c> event from the example <c>subscription.created</c> body, with the
    /// given identity, status and version.
    /// </summary>
    public static JsonObject Subscription(
        string type,
        string subscriptionId,
        string status = "active",
        string? externalId = ExampleExternalId,
        string customerId = ExampleCustomerId,
        DateTimeOffset? createdAt = null,
        DateTimeOffset? modifiedAt = null,
        DateTimeOffset? eventTimestamp = null,
        bool cancelAtPeriodEnd = false,
        DateTimeOffset? currentPeriodEnd = null,
        string productId = ExampleProductId,
        string? metadataUserId = null,
        string organizationId = ExampleOrganizationId,
        string? email = "jane.doe@gmail.com")
    {
        var root = Example("subscription.created.json");
        var created = createdAt ?? new DateTimeOffset(2026, 10, 1, 9, 16, 48, 730, TimeSpan.Zero);
        root["type"] = type;
        root["timestamp"] = Format(eventTimestamp ?? modifiedAt ?? created);
        var data = root["data"]!.AsObject();
        data["id"] = subscriptionId;
        data["status"] = status;
        data["created_at"] = Format(created);
        data["modified_at"] = modifiedAt is null ? null : Format(modifiedAt.Value);
        data["cancel_at_period_end"] = cancelAtPeriodEnd;
        data["current_period_end"] = Format(currentPeriodEnd ?? created.AddMonths(1));
        data["product_id"] = productId;
        data["product"]!["id"] = productId;
        data["customer_id"] = customerId;
        var metadata = new JsonObject();
        if (metadataUserId is not null)
        {
            metadata["kavach_user_id"] = metadataUserId;
        }

        data["metadata"] = metadata;
        var customer = data["customer"]!.AsObject();
        customer["id"] = customerId;
        customer["external_id"] = externalId;
        customer["email"] = email;
        customer["organization_id"] = organizationId;
        return root;
    }

    /// <summary>Polar's datetime format: ISO-8601 UTC with 'Z' and microseconds.</summary>
    public static string Format(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
