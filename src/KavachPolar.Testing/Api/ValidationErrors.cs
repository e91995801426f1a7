using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Api;

/// <summary>Collects pydantic-style <c>ValidationError</c> items: <c>{type, loc, msg, input, ctx?}</c>.</summary>
internal sealed class ValidationErrors
{
    private readonly JsonArray _items = [];

    public int Count => _items.Count;

    public void Add(string type, JsonArray loc, string msg, JsonNode? input, JsonObject? ctx = null)
    {
        var item = new JsonObject
        {
            ["type"] = type,
            ["loc"] = loc,
            ["msg"] = msg,
            ["input"] = input?.DeepClone(),
        };
        if (ctx is not null)
        {
            item["ctx"] = ctx;
        }

        _items.Add(item);
    }

    public void AddRange(ValidationErrors other)
    {
        foreach (var item in other._items)
        {
            _items.Add(item!.DeepClone());
        }
    }

    public JsonArray ToJson() => (JsonArray)_items.DeepClone();

    /// <summary>Builds a <c>loc</c> array from path parts (strings and integers).</summary>
    public static JsonArray Loc(params object[] parts)
    {
        var loc = new JsonArray();
        foreach (var p in parts)
        {
            loc.Add(p switch
            {
                int i => JsonValue.Create(i),
                string s => JsonValue.Create(s),
                _ => throw new ArgumentException("loc parts are strings or integers", nameof(parts)),
            });
        }

        return loc;
    }
}
