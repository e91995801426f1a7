using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Usage;

/// <summary>Helpers for the usage tests: ingest through the API, read customer meters, move the clock.</summary>
internal static class Usage
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An <c>EventCreateExternalCustomer</c> for the demo meter.</summary>
    public static JsonObject Summary(string externalCustomerId, int tokens, string? externalId = null)
    {
        var e = new JsonObject
        {
            ["name"] = PolarEmulator.DemoMeterEventName,
            ["external_customer_id"] = externalCustomerId,
            ["metadata"] = new JsonObject { ["tokens"] = tokens },
        };
        if (externalId is not null)
        {
            e["external_id"] = externalId;
        }

        return e;
    }

    public static Task<PolarResponse> IngestAsync(this Harness h, params JsonObject[] events) =>
        h.Http.PostAsync("v1/events/ingest", new JsonObject { ["events"] = new JsonArray(events) }.ToJsonString());

    /// <summary>Ingests and requires 200.</summary>
    public static async Task<JsonNode> IngestOkAsync(this Harness h, params JsonObject[] events)
    {
        var response = await h.IngestAsync(events);
        Assert.True(response.Status == 200, response.Body);
        return response.Json;
    }

    public static async Task<JsonArray> CustomerMetersAsync(this Harness h, string query = "")
    {
        var response = await h.Http.GetAsync("v1/customer-meters/" + query);
        Assert.True(response.Status == 200, response.Body);
        return response.Json["items"]!.AsArray();
    }

    public static Task AdvanceAsync(this Harness h, TimeSpan by) => h.Emulator.AdvanceTimeAsync(by, Ct);

    public static JsonNode? Detail(PolarResponse response) => response.Json["detail"];
}
