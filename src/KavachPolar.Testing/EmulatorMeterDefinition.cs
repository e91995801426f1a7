using KavachPolar.Testing.State;

namespace KavachPolar.Testing;

/// <summary>
/// A meter the emulator's organization has, as Polar's dashboard creates one: a name, a filter choosing the events it
/// counts and an aggregation over them, both written as Polar's API writes them
/// (https://polar.sh/docs/features/usage-based-billing/meters).
/// </summary>
public sealed class EmulatorMeterDefinition
{
    /// <summary>Creates a meter definition.</summary>
    /// <param name="name">The meter's name (at least 3 characters, as Polar requires).</param>
    /// <param name="filter">Polar's <c>Filter</c> JSON: <c>{"conjunction": "and"|"or", "clauses": [...]}</c>, each clause
    /// <c>{"property": "name"|"timestamp"|"source"|a metadata key (dots reach into objects), "operator": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"like"|"not_like", "value": string|int|bool}</c>
    /// or a nested filter.</param>
    /// <param name="aggregation">Polar's <c>Aggregation</c> JSON: <c>{"func": "count"}</c>, or
    /// <c>{"func": "sum"|"max"|"min"|"avg"|"unique", "property": "..."}</c>.</param>
    /// <exception cref="ArgumentException">The name is shorter than 3 characters, or the filter or aggregation is not
    /// what Polar accepts; the message says which part.</exception>
    public EmulatorMeterDefinition(string name, string filter, string aggregation)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(aggregation);
        if (name.Length < 3)
        {
            throw new ArgumentException("A meter's name has at least 3 characters.", nameof(name));
        }

        Name = name;
        Rules = MeterRules.Parse(filter, aggregation);
    }

    /// <summary>
    /// A meter over the events named <paramref name="eventName"/>: <paramref name="function"/> (<c>count</c>, <c>sum</c>,
    /// <c>max</c>, <c>min</c>, <c>avg</c> or <c>unique</c>) of the metadata key <paramref name="property"/> (none for count).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown function, or a property missing or given for <c>count</c>.</exception>
    public static EmulatorMeterDefinition ForEvent(string name, string eventName, string function, string? property = null)
    {
        ArgumentNullException.ThrowIfNull(eventName);
        ArgumentNullException.ThrowIfNull(function);
        if (function == "count" && property is not null)
        {
            throw new ArgumentException("A count meter aggregates no property.", nameof(property));
        }

        var filter = new System.Text.Json.Nodes.JsonObject
        {
            ["conjunction"] = "and",
            ["clauses"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["property"] = "name", ["operator"] = "eq", ["value"] = eventName }),
        };
        var aggregation = new System.Text.Json.Nodes.JsonObject { ["func"] = function };
        if (property is not null)
        {
            aggregation["property"] = property;
        }

        return new EmulatorMeterDefinition(name, filter.ToJsonString(), aggregation.ToJsonString());
    }

    /// <summary>A fixed meter id (a UUID version 4); a random one when <see langword="null"/>.</summary>
    public string? Id { get; set; }

    /// <summary>The meter's name.</summary>
    public string Name { get; }

    /// <summary>Polar's <c>MeterUnit</c>: <c>scalar</c> (default), <c>token</c> or <c>custom</c>.</summary>
    public string Unit { get; set; } = "scalar";

    /// <summary>The label of a <c>custom</c> unit.</summary>
    public string? CustomLabel { get; set; }

    /// <summary>The meter's metadata.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    internal MeterRules Rules { get; }
}
