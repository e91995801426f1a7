using System.Text.Json;

namespace KavachPolar.Services;

/// <summary>
/// A Polar meter's filter and aggregation evaluated here, over events this app recorded, the way Polar's customer-meter
/// recompute evaluates them in SQL (<c>meter/filter.py get_sql_clause</c>, <c>meter/aggregation.py</c>): only for what
/// can be evaluated exactly on flat metadata. Aggregation <c>count</c>, or <c>sum</c> over a metadata key (events whose
/// value there is not a number are left out, as Polar leaves them out); filter clauses on <c>name</c> or a metadata key
/// with <c>eq</c>, <c>ne</c>, <c>gt</c>, <c>gte</c>, <c>lt</c>, <c>lte</c>, nested under <c>and</c>/<c>or</c>. Anything
/// else (<c>max</c>, <c>min</c>, <c>avg</c>, <c>unique</c>, <c>like</c>, <c>not_like</c>, <c>timestamp</c> or
/// <c>source</c>) cannot be compiled: <see cref="TryCompile"/> answers null.
/// </summary>
internal sealed class LocalMeter
{
    private readonly Func<string, JsonElement, bool> _filter;
    private readonly string? _sumProperty;

    private LocalMeter(Func<string, JsonElement, bool> filter, string? sumProperty)
    {
        _filter = filter;
        _sumProperty = sumProperty;
    }

    /// <summary>The meter as evaluated here, or null when it cannot be evaluated exactly.</summary>
    public static LocalMeter? TryCompile(JsonElement filter, JsonElement aggregation)
    {
        if (aggregation.ValueKind != JsonValueKind.Object || !aggregation.TryGetProperty("func", out var func) || func.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        string? sum = null;
        switch (func.GetString())
        {
            case "count":
                break;
            case "sum" when aggregation.TryGetProperty("property", out var p) && p.ValueKind == JsonValueKind.String:
                sum = StripMetadataPrefix(p.GetString()!);
                if (sum is "timestamp" or "name" or "source")
                {
                    return null;
                }

                break;
            default:
                return null;
        }

        return CompileFilter(filter) is { } f ? new LocalMeter(f, sum) : null;
    }

    /// <summary>Whether a recorded event (its name and metadata object) is one the meter counts.</summary>
    public bool Matches(string name, JsonElement metadata) =>
        _filter(name, metadata) && (_sumProperty is null || (Lookup(metadata, _sumProperty) is { ValueKind: JsonValueKind.Number }));

    /// <summary>What matching events add to the meter: their count, or the sum of the property.</summary>
    public decimal Aggregate(IEnumerable<JsonElement> matchingMetadata) =>
        _sumProperty is null ? matchingMetadata.Count() : matchingMetadata.Sum(m => Lookup(m, _sumProperty)!.Value.GetDecimal());

    private static Func<string, JsonElement, bool>? CompileFilter(JsonElement filter)
    {
        if (filter.ValueKind != JsonValueKind.Object || !filter.TryGetProperty("conjunction", out var c) || c.ValueKind != JsonValueKind.String
            || !filter.TryGetProperty("clauses", out var clauses) || clauses.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var conjunction = c.GetString();
        if (conjunction is not ("and" or "or"))
        {
            return null;
        }

        var parts = new List<Func<string, JsonElement, bool>>();
        foreach (var clause in clauses.EnumerateArray())
        {
            var part = clause.ValueKind == JsonValueKind.Object && clause.TryGetProperty("conjunction", out _) ? CompileFilter(clause) : CompileClause(clause);
            if (part is null)
            {
                return null;
            }

            parts.Add(part);
        }

        if (parts.Count == 0)
        {
            return static (_, _) => true;
        }

        return conjunction == "and"
            ? (n, m) => parts.TrueForAll(p => p(n, m))
            : (n, m) => parts.Exists(p => p(n, m));
    }

    private static Func<string, JsonElement, bool>? CompileClause(JsonElement clause)
    {
        if (clause.ValueKind != JsonValueKind.Object
            || !clause.TryGetProperty("property", out var p) || p.ValueKind != JsonValueKind.String
            || !clause.TryGetProperty("operator", out var o) || o.ValueKind != JsonValueKind.String
            || !clause.TryGetProperty("value", out var value))
        {
            return null;
        }

        var op = o.GetString()!;
        if (op is not ("eq" or "ne" or "gt" or "gte" or "lt" or "lte"))
        {
            return null;
        }

        var property = StripMetadataPrefix(p.GetString()!);
        var kind = value.ValueKind;
        if (kind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
        {
            return null;
        }

        switch (property)
        {
            case "timestamp" or "source":
                return null;
            case "name":
                // A column compared with a value of another type is false in Polar's SQL.
                if (kind != JsonValueKind.String)
                {
                    return static (_, _) => false;
                }

                var text = value.GetString()!;
                return (n, _) => Compare(op, string.CompareOrdinal(n, text));
        }

        return (_, metadata) =>
        {
            if (Lookup(metadata, property) is not { } actual)
            {
                return false;
            }

            switch (actual.ValueKind)
            {
                case JsonValueKind.String:
                    return Compare(op, string.CompareOrdinal(actual.GetString(), StringValue(value)));
                case JsonValueKind.Number:
                    if (kind == JsonValueKind.String)
                    {
                        return false;
                    }

                    var number = kind == JsonValueKind.Number ? value.GetDecimal() : (kind == JsonValueKind.True ? 1 : 0);
                    return Compare(op, actual.GetDecimal().CompareTo(number));
                case JsonValueKind.True or JsonValueKind.False:
                    return kind is JsonValueKind.True or JsonValueKind.False && Compare(op, actual.GetBoolean().CompareTo(value.GetBoolean()));
                default:
                    return false;
            }
        };
    }

    private static bool Compare(string op, int comparison) => op switch
    {
        "eq" => comparison == 0,
        "ne" => comparison != 0,
        "gt" => comparison > 0,
        "gte" => comparison >= 0,
        "lt" => comparison < 0,
        _ => comparison <= 0,
    };

    /// <summary>A clause's value as Polar's SQL compares it with text: a boolean is "t" or "f", a number its text.</summary>
    private static string StringValue(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => "t",
        JsonValueKind.False => "f",
        JsonValueKind.Number => value.GetRawText(),
        _ => value.GetString()!,
    };

    /// <summary>Polar's dotted path into the metadata: our metadata is flat, so only a plain key is found.</summary>
    private static JsonElement? Lookup(JsonElement metadata, string path)
    {
        if (metadata.ValueKind != JsonValueKind.Object || path.Contains('.', StringComparison.Ordinal) || !metadata.TryGetProperty(path, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v;
    }

    private static string StripMetadataPrefix(string value) => value.StartsWith("metadata.", StringComparison.Ordinal) ? value["metadata.".Length..] : value;
}
