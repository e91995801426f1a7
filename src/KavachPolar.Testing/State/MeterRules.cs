using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>
/// A meter's filter and aggregation as Polar stores them (<c>meter/filter.py</c>, <c>meter/aggregation.py</c>), parsed
/// from Polar's JSON and evaluated as the customer-meter recompute evaluates them: with the SQL clauses
/// (<c>get_sql_clause</c>, <c>get_sql_column</c>), not the Python <c>matches</c> used when events are ingested.
/// </summary>
internal sealed class MeterRules
{
    private static readonly string[] Operators = ["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"];
    private static readonly string[] Functions = ["count", "sum", "max", "min", "avg", "unique"];

    /// <summary>Event columns a clause can name instead of a metadata key (<c>Event._filterable_fields</c>).</summary>
    private static readonly string[] Columns = ["timestamp", "name", "source"];

    private MeterRules(JsonObject filter, JsonObject aggregation)
    {
        Filter = filter;
        Aggregation = aggregation;
        Function = aggregation["func"]!.GetValue<string>();
        Property = aggregation["property"]?.GetValue<string>();
    }

    /// <summary>The filter as Polar serializes it (<c>metadata.</c> prefixes stripped).</summary>
    public JsonObject Filter { get; }

    /// <summary>The aggregation as Polar serializes it.</summary>
    public JsonObject Aggregation { get; }

    /// <summary><c>count</c>, <c>sum</c>, <c>max</c>, <c>min</c>, <c>avg</c> or <c>unique</c>.</summary>
    public string Function { get; }

    /// <summary>The aggregated property (none for <c>count</c>).</summary>
    public string? Property { get; }

    /// <summary>Parses Polar's JSON for a filter and an aggregation.</summary>
    /// <exception cref="ArgumentException">Either is not what Polar's <c>Filter</c> or <c>Aggregation</c> accepts; the message says what.</exception>
    public static MeterRules Parse(string filter, string aggregation)
    {
        JsonNode? f, a;
        try
        {
            f = JsonNode.Parse(filter);
            a = JsonNode.Parse(aggregation);
        }
        catch (JsonException e)
        {
            throw new ArgumentException("A meter's filter and aggregation must be JSON: " + e.Message, e);
        }

        return new MeterRules(ParseFilter(f, "filter"), ParseAggregation(a));
    }

    private static JsonObject ParseFilter(JsonNode? node, string path)
    {
        if (node is not JsonObject o || o["conjunction"] is not JsonValue c || c.GetValueKind() != JsonValueKind.String || c.GetValue<string>() is not ("and" or "or")
            || o["clauses"] is not JsonArray clauses)
        {
            throw new ArgumentException($"{path} must be {{\"conjunction\": \"and\"|\"or\", \"clauses\": [...]}}.");
        }

        var parsed = new JsonArray();
        for (var i = 0; i < clauses.Count; i++)
        {
            var item = clauses[i];
            parsed.Add(item is JsonObject io && io.ContainsKey("conjunction") ? ParseFilter(item, $"{path}.clauses[{i}]") : ParseClause(item, $"{path}.clauses[{i}]"));
        }

        return new JsonObject { ["conjunction"] = c.GetValue<string>(), ["clauses"] = parsed };
    }

    private static JsonObject ParseClause(JsonNode? node, string path)
    {
        if (node is not JsonObject o || o["property"] is not JsonValue p || p.GetValueKind() != JsonValueKind.String
            || o["operator"] is not JsonValue op || op.GetValueKind() != JsonValueKind.String || !Operators.Contains(op.GetValue<string>()))
        {
            throw new ArgumentException($"{path} must be {{\"property\": \"...\", \"operator\": one of {string.Join(", ", Operators)}, \"value\": ...}}.");
        }

        // FilterClause.value: str (at most 1000 characters) | Int32 | bool.
        JsonNode value = o["value"] switch
        {
            JsonValue s when s.GetValueKind() == JsonValueKind.String && s.GetValue<string>().Length <= 1000 => JsonValue.Create(s.GetValue<string>()),
            JsonValue n when n.GetValueKind() == JsonValueKind.Number && n.TryGetValue<int>(out var i) => JsonValue.Create(i),
            JsonValue b when b.GetValueKind() is JsonValueKind.True or JsonValueKind.False => JsonValue.Create(b.GetValue<bool>()),
            _ => throw new ArgumentException($"{path}.value must be a string of at most 1000 characters, a 32-bit integer or a boolean."),
        };
        return new JsonObject
        {
            ["property"] = StripMetadataPrefix(p.GetValue<string>()),
            ["operator"] = op.GetValue<string>(),
            ["value"] = value,
        };
    }

    private static JsonObject ParseAggregation(JsonNode? node)
    {
        if (node is not JsonObject o || o["func"] is not JsonValue f || f.GetValueKind() != JsonValueKind.String || !Functions.Contains(f.GetValue<string>()))
        {
            throw new ArgumentException($"aggregation must be {{\"func\": one of {string.Join(", ", Functions)}, \"property\": \"...\"}} (no property for count).");
        }

        var func = f.GetValue<string>();
        if (func == "count")
        {
            return new JsonObject { ["func"] = "count" };
        }

        if (o["property"] is not JsonValue p || p.GetValueKind() != JsonValueKind.String)
        {
            throw new ArgumentException($"aggregation {func} needs a \"property\" (a metadata key, or timestamp).");
        }

        return new JsonObject { ["func"] = func, ["property"] = StripMetadataPrefix(p.GetValue<string>()) };
    }

    private static string StripMetadataPrefix(string value) => value.StartsWith("metadata.", StringComparison.Ordinal) ? value["metadata.".Length..] : value;

    /// <summary>
    /// <c>event_repository.get_meter_clause</c>: the filter's SQL clause and the aggregation's (a property aggregation
    /// only takes events whose property is a JSON number).
    /// </summary>
    public bool Matches(EventRecord e) => MatchesFilter(Filter, e) && MatchesAggregation(e);

    private bool MatchesAggregation(EventRecord e)
    {
        if (Function is "count" or "unique")
        {
            return true;
        }

        if (Columns.Contains(Property))
        {
            return Property == "timestamp";
        }

        return Lookup(e.Metadata, Property!) is JsonValue v && v.GetValueKind() == JsonValueKind.Number;
    }

    /// <summary>
    /// The aggregate over <paramref name="events"/> (already filtered), with <c>coalesce(..., 0)</c>: count, sum, max,
    /// min and avg of the property as a float, or the number of distinct JSON values of the property.
    /// </summary>
    public double Aggregate(IReadOnlyCollection<EventRecord> events)
    {
        switch (Function)
        {
            case "count":
                return events.Count;
            case "unique":
                return events.Select(e => Lookup(e.Metadata, Property!)).Where(v => v is not null).Select(Canonical).Distinct(StringComparer.Ordinal).Count()
                    + (events.Any(e => IsJsonNull(e.Metadata, Property!)) ? 1 : 0);
        }

        var values = events.Select(e => Property == "timestamp" ? (double)EpochSeconds(e.Timestamp) : Lookup(e.Metadata, Property!)!.GetValue<double>()).ToList();
        if (values.Count == 0)
        {
            return 0;
        }

        return Function switch
        {
            "sum" => values.Sum(),
            "max" => values.Max(),
            "min" => values.Min(),
            _ => values.Average(),
        };
    }

    private static bool IsJsonNull(JsonObject metadata, string path)
    {
        // A key present with JSON null is a jsonb 'null' value, which count(DISTINCT ...) counts; a missing key is SQL NULL.
        var parts = path.Split('.');
        JsonNode? current = metadata;
        for (var i = 0; i < parts.Length; i++)
        {
            if (current is not JsonObject o || !o.TryGetPropertyValue(parts[i], out var next))
            {
                return false;
            }

            if (i == parts.Length - 1)
            {
                return next is null;
            }

            current = next;
        }

        return false;
    }

    /// <summary>jsonb equality: numbers by value, everything else by its JSON text.</summary>
    private static string Canonical(JsonNode? value) => value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => "n:" + v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
        null => "null",
        _ => "j:" + value.ToJsonString(),
    };

    private static bool MatchesFilter(JsonObject filter, EventRecord e)
    {
        var clauses = filter["clauses"]!.AsArray();
        if (clauses.Count == 0)
        {
            return true;
        }

        var results = clauses.Select(c => c!.AsObject().ContainsKey("conjunction") ? MatchesFilter(c.AsObject(), e) : MatchesClause(c.AsObject(), e));
        return filter["conjunction"]!.GetValue<string>() == "and" ? results.All(r => r) : results.Any(r => r);
    }

    /// <summary>
    /// <c>FilterClause.get_sql_clause</c>, with SQL's NULL read as false: a column compared with a value of its type
    /// (else false); a metadata value compared by its JSON type (a string as text, a number with a numeric or boolean
    /// value, a boolean with a boolean value; anything else, or a missing key, false); <c>like</c>/<c>not_like</c> as
    /// "contains" on the text (a boolean value reads "t"/"f").
    /// </summary>
    private static bool MatchesClause(JsonObject clause, EventRecord e)
    {
        var property = clause["property"]!.GetValue<string>();
        var op = clause["operator"]!.GetValue<string>();
        var value = clause["value"]!.AsValue();
        var kind = value.GetValueKind();
        var isLike = op is "like" or "not_like";
        if (Columns.Contains(property))
        {
            if (property == "timestamp")
            {
                if (kind != JsonValueKind.Number)
                {
                    return false;
                }

                var epoch = EpochSeconds(e.Timestamp);
                return isLike ? Like(op, epoch.ToString(CultureInfo.InvariantCulture), StringValue(value)) : Compare(op, epoch.CompareTo((long)value.GetValue<int>()));
            }

            if (kind != JsonValueKind.String)
            {
                return false;
            }

            var column = property == "name" ? e.Name : "user";
            return isLike ? Like(op, column, value.GetValue<string>()) : Compare(op, string.CompareOrdinal(column, value.GetValue<string>()));
        }

        var actual = Lookup(e.Metadata, property);
        if (actual is null)
        {
            return false;
        }

        if (isLike)
        {
            // attr.as_string(): the text of a scalar, the JSON of an object or array.
            var text = actual is JsonValue av && av.GetValueKind() == JsonValueKind.String ? av.GetValue<string>() : actual.ToJsonString();
            return Like(op, text, StringValue(value));
        }

        switch (actual.GetValueKind())
        {
            case JsonValueKind.String:
                return Compare(op, string.CompareOrdinal(actual.GetValue<string>(), StringValue(value)));
            case JsonValueKind.Number:
                if (kind == JsonValueKind.String)
                {
                    return false;
                }

                var number = kind == JsonValueKind.Number ? value.GetValue<int>() : (value.GetValue<bool>() ? 1 : 0);
                return Compare(op, actual.GetValue<double>().CompareTo(number));
            case JsonValueKind.True or JsonValueKind.False:
                return kind is JsonValueKind.True or JsonValueKind.False && Compare(op, actual.GetValue<bool>().CompareTo(value.GetValue<bool>()));
            default:
                return false;
        }
    }

    private static bool Like(string op, string text, string part) => text.Contains(part, StringComparison.Ordinal) == (op == "like");

    private static bool Compare(string op, int comparison) => op switch
    {
        "eq" => comparison == 0,
        "ne" => comparison != 0,
        "gt" => comparison > 0,
        "gte" => comparison >= 0,
        "lt" => comparison < 0,
        _ => comparison <= 0,
    };

    /// <summary><c>_get_str_value</c>: a boolean is "t" or "f", a number its decimal text.</summary>
    private static string StringValue(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.True => "t",
        JsonValueKind.False => "f",
        JsonValueKind.Number => value.GetValue<int>().ToString(CultureInfo.InvariantCulture),
        _ => value.GetValue<string>(),
    };

    /// <summary><c>CAST(EXTRACT(epoch FROM timestamp) AS BIGINT)</c>: PostgreSQL rounds the fraction half away from zero.</summary>
    private static long EpochSeconds(DateTimeOffset timestamp) =>
        (long)Math.Round((timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond, MidpointRounding.AwayFromZero);

    /// <summary><c>get_nested_metadata_attr</c>: a dot-separated path into the event's metadata; null when missing or JSON null.</summary>
    public static JsonNode? Lookup(JsonObject metadata, string path)
    {
        JsonNode? current = metadata;
        foreach (var part in path.Split('.'))
        {
            if (current is not JsonObject o || !o.TryGetPropertyValue(part, out current))
            {
                return null;
            }
        }

        return current;
    }
}
