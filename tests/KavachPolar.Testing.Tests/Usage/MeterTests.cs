using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Usage;

/// <summary>
/// Meters (<c>/v1/meters/</c>) and how a customer meter aggregates the events a meter's filter takes, as the recompute's
/// SQL clauses in Polar's <c>meter/filter.py</c> and <c>meter/aggregation.py</c> evaluate them.
/// </summary>
public sealed class MeterTests
{
    private const string ByName = """{"conjunction":"and","clauses":[{"property":"name","operator":"eq","value":"call"}]}""";

    private static EmulatorMeterDefinition Meter(string name, string filter, string aggregation) => new(name, filter, aggregation);

    /// <summary>Starts an emulator with <paramref name="meters"/>, ingests <paramref name="events"/> for one customer and returns its consumed units per meter name.</summary>
    private static async Task<Dictionary<string, double>> ConsumedAsync(EmulatorMeterDefinition[] meters, params JsonObject[] events)
    {
        await using var h = await Harness.StartAsync(o =>
        {
            foreach (var m in meters)
            {
                o.Meters.Add(m);
            }
        });
        var customer = h.Emulator.CreateCustomer("jane.doe@gmail.com", externalId: "usr_1");
        foreach (var e in events)
        {
            e["customer_id"] = customer.Id;
        }

        await h.IngestOkAsync(events);
        await h.AdvanceAsync(TimeSpan.FromSeconds(16));
        var names = h.Emulator.Meters.ToDictionary(m => m.Id, m => m.Name);
        return (await h.CustomerMetersAsync("?limit=100")).ToDictionary(r => names[(string)r!["meter_id"]!], r => (double)r!["consumed_units"]!);
    }

    private static JsonObject Event(string name, JsonObject? metadata = null) => new() { ["name"] = name, ["metadata"] = metadata ?? [] };

    [Fact]
    public async Task Each_aggregation_counts_sums_or_picks_over_the_filtered_events()
    {
        var consumed = await ConsumedAsync(
            [
                Meter("count", ByName, """{"func":"count"}"""),
                Meter("sum", ByName, """{"func":"sum","property":"n"}"""),
                Meter("max", ByName, """{"func":"max","property":"metadata.n"}"""),
                Meter("min", ByName, """{"func":"min","property":"n"}"""),
                Meter("avg", ByName, """{"func":"avg","property":"n"}"""),
                Meter("unique", ByName, """{"func":"unique","property":"model"}"""),
            ],
            Event("call", new JsonObject { ["n"] = 2, ["model"] = "a" }),
            Event("call", new JsonObject { ["n"] = 4.5, ["model"] = "b" }),
            Event("call", new JsonObject { ["n"] = 6, ["model"] = "a" }),
            // Counted by count and unique only: sum, max, min and avg take only events whose property is a number.
            Event("call", new JsonObject { ["n"] = "many", ["model"] = "c" }),
            Event("other", new JsonObject { ["n"] = 100, ["model"] = "d" }));

        Assert.Equal(4.0, consumed["count"]);
        Assert.Equal(12.5, consumed["sum"]);
        Assert.Equal(6.0, consumed["max"]);
        Assert.Equal(2.0, consumed["min"]);
        Assert.Equal(12.5 / 3, consumed["avg"], 9);
        Assert.Equal(3.0, consumed["unique"]);
    }

    [Fact]
    public async Task Filters_compare_metadata_by_its_json_type_and_nest_with_and_and_or()
    {
        var consumed = await ConsumedAsync(
            [
                Meter("number gt", """{"conjunction":"and","clauses":[{"property":"n","operator":"gt","value":3}]}""", """{"func":"count"}"""),
                Meter("string eq", """{"conjunction":"and","clauses":[{"property":"tier","operator":"eq","value":"pro"}]}""", """{"func":"count"}"""),
                Meter("string vs number", """{"conjunction":"and","clauses":[{"property":"tier","operator":"eq","value":5}]}""", """{"func":"count"}"""),
                Meter("bool", """{"conjunction":"and","clauses":[{"property":"flag","operator":"eq","value":true}]}""", """{"func":"count"}"""),
                Meter("like", """{"conjunction":"and","clauses":[{"property":"name","operator":"like","value":"ai."}]}""", """{"func":"count"}"""),
                Meter("not_like missing", """{"conjunction":"and","clauses":[{"property":"absent","operator":"not_like","value":"x"}]}""", """{"func":"count"}"""),
                Meter("nested", """{"conjunction":"or","clauses":[{"property":"tier","operator":"eq","value":"free"},{"conjunction":"and","clauses":[{"property":"name","operator":"eq","value":"ai.chat"},{"property":"n","operator":"lte","value":3}]}]}""", """{"func":"count"}"""),
                Meter("dotted", """{"conjunction":"and","clauses":[{"property":"_llm.total_tokens","operator":"gte","value":100}]}""", """{"func":"count"}"""),
            ],
            Event("ai.chat", new JsonObject { ["n"] = 5, ["tier"] = "pro", ["flag"] = true }),
            Event("ai.chat", new JsonObject { ["n"] = 1, ["tier"] = "5" }),
            Event("ai.image", new JsonObject { ["n"] = "9", ["tier"] = "free", ["flag"] = "true" }),
            // Only the structured _llm and _cost keys hold objects; a dotted property reaches into them.
            Event("page.view", new JsonObject { ["_llm"] = new JsonObject { ["vendor"] = "openai", ["model"] = "gpt", ["input_tokens"] = 100, ["output_tokens"] = 50, ["total_tokens"] = 150 } }));

        // 5 > 3 as numbers, and the string "9" > "3" as text (a string property is compared with the value's text).
        Assert.Equal(2.0, consumed["number gt"]);
        Assert.Equal(1.0, consumed["string eq"]);
        // A number value is compared with a string property as its text.
        Assert.Equal(1.0, consumed["string vs number"]);
        Assert.Equal(1.0, consumed["bool"]);
        Assert.Equal(3.0, consumed["like"]);
        // SQL: NOT (NULL LIKE ...) is NULL, so a missing key matches neither like nor not_like.
        Assert.Equal(0.0, consumed["not_like missing"]);
        Assert.Equal(2.0, consumed["nested"]);
        Assert.Equal(1.0, consumed["dotted"]);
    }

    [Fact]
    public async Task The_meters_api_lists_and_gets_meters_as_Polar_writes_them()
    {
        await using var h = await Harness.StartAsync();

        var list = await h.Http.GetAsync("v1/meters/");
        var one = await h.Http.GetAsync($"v1/meters/{PolarEmulator.DemoMeterId}");

        Assert.Equal(200, list.Status);
        var meter = Assert.Single(list.Json["items"]!.AsArray())!;
        Assert.Equal(["metadata", "created_at", "modified_at", "id", "name", "unit", "custom_label", "custom_multiplier", "filter", "aggregation", "organization_id", "archived_at"],
            meter.AsObject().Select(p => p.Key));
        Assert.Equal("AI tokens", (string?)meter["name"]);
        Assert.Equal("""{"conjunction":"and","clauses":[{"property":"name","operator":"eq","value":"ai.summary"}]}""", meter["filter"]!.ToJsonString());
        Assert.Equal("""{"func":"sum","property":"tokens"}""", meter["aggregation"]!.ToJsonString());
        Assert.Equal(meter.ToJsonString(), one.Json.ToJsonString());
        Assert.Equal(404, (await h.Http.GetAsync($"v1/meters/{Guid.NewGuid()}")).Status);
        Assert.Empty((await h.Http.GetAsync("v1/meters/?query=storage")).Json["items"]!.AsArray());
        Assert.Single((await h.Http.GetAsync("v1/meters/?query=ai%20TOK")).Json["items"]!.AsArray());
    }

    [Fact]
    public async Task Configured_meters_replace_the_demo_meter_and_keep_their_ids()
    {
        var id = Guid.NewGuid().ToString();
        await using var h = await Harness.StartAsync(o => o.Meters.Add(new EmulatorMeterDefinition("API calls", ByName, """{"func":"count"}""") { Id = id }));

        var meter = Assert.Single(h.Emulator.Meters);

        Assert.Equal((id, "API calls"), (meter.Id, meter.Name));
        Assert.Equal(id, (string?)(await h.Http.GetAsync($"v1/meters/{id}")).Json["id"]);
    }

    [Theory]
    [InlineData("ab", ByName, """{"func":"count"}""", "3 characters")]
    [InlineData("Calls", "not json", """{"func":"count"}""", "must be JSON")]
    [InlineData("Calls", """{"conjunction":"xor","clauses":[]}""", """{"func":"count"}""", "conjunction")]
    [InlineData("Calls", """{"conjunction":"and","clauses":[{"property":"name","operator":"regex","value":"x"}]}""", """{"func":"count"}""", "operator")]
    [InlineData("Calls", """{"conjunction":"and","clauses":[{"property":"name","operator":"eq","value":1.5}]}""", """{"func":"count"}""", "32-bit integer")]
    [InlineData("Calls", ByName, """{"func":"median","property":"n"}""", "func")]
    [InlineData("Calls", ByName, """{"func":"sum"}""", "needs a \"property\"")]
    public void A_meter_definition_Polar_would_refuse_throws_and_says_why(string name, string filter, string aggregation, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new EmulatorMeterDefinition(name, filter, aggregation));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_count_meter_with_a_property_throws()
    {
        Assert.Throws<ArgumentException>(() => EmulatorMeterDefinition.ForEvent("Calls", "call", "count", "n"));
    }

    [Theory]
    [InlineData("not-a-uuid", "scalar", null, "UUID version 4")]
    [InlineData(null, "bytes", null, "Unit")]
    [InlineData(null, "custom", null, "CustomLabel")]
    public async Task An_emulator_with_a_meter_Polar_would_refuse_does_not_start(string? id, string unit, string? label, string message)
    {
        var options = new PolarEmulatorOptions();
        options.Meters.Add(new EmulatorMeterDefinition("Calls", ByName, """{"func":"count"}""") { Id = id, Unit = unit, CustomLabel = label });

        var e = await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(options, Usage.Ct));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Meters_need_a_meters_scope()
    {
        await using var h = await Harness.StartAsync();
        using var other = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["customer_meters:read"]));
        using var writer = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["meters:write"]));

        Assert.Equal(403, (await other.GetAsync("v1/meters/")).Status);
        Assert.Equal(200, (await writer.GetAsync("v1/meters/")).Status);
    }
}
