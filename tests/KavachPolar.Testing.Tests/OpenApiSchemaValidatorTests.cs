using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests;

/// <summary>The schema validator used by the fidelity tests must accept Polar's examples and catch real mistakes.</summary>
public sealed class OpenApiSchemaValidatorTests
{
    public static TheoryData<string> ExamplePayloads() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks"), "*.json").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(ExamplePayloads))]
    public void Accepts_every_reference_example_payload(string file)
    {
        var json = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", file));
        var type = JsonNode.Parse(json)!["type"]!.GetValue<string>();

        OpenApiSchemas.Instance.AssertValid(OpenApiSchemas.Instance.WebhookComponent(type), json, file);
    }

    [Fact]
    public void Rejects_a_subscription_without_a_required_field()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", "subscription.created.json")))!;
        json["data"]!.AsObject().Remove("current_period_end");

        Assert.NotEmpty(OpenApiSchemas.Instance.Validate("WebhookSubscriptionCreatedPayload", json.ToJsonString()));
    }

    [Fact]
    public void Rejects_an_id_that_is_not_a_version_4_uuid()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", "subscription.created.json")))!;
        json["data"]!["customer_id"] = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

        Assert.NotEmpty(OpenApiSchemas.Instance.Validate("WebhookSubscriptionCreatedPayload", json.ToJsonString()));
    }

    [Fact]
    public void Rejects_a_status_outside_the_enum()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "webhooks", "subscription.created.json")))!;
        json["data"]!["status"] = "live";

        Assert.NotEmpty(OpenApiSchemas.Instance.Validate("WebhookSubscriptionCreatedPayload", json.ToJsonString()));
    }
}
