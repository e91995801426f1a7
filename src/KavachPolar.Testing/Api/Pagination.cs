using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary><c>kit/pagination.py</c>: <c>page</c> and <c>limit</c> above zero, limit clamped to 100.</summary>
internal static class Pagination
{
    public static (int Page, int Limit) Parse(IQueryCollection query, ValidationErrors errors)
    {
        var page = InputRules.PositiveQueryInt(query.TryGetValue("page", out var p) ? p.ToString() : null, "page", 1, errors) ?? 1;
        var limit = InputRules.PositiveQueryInt(query.TryGetValue("limit", out var l) ? l.ToString() : null, "limit", 10, errors) ?? 10;
        return (page, Math.Min(limit, 100));
    }

    public static JsonObject Page(JsonArray items, int total, int limit) => new()
    {
        ["items"] = items,
        ["pagination"] = new JsonObject
        {
            ["total_count"] = total,
            ["max_page"] = total == 0 ? 0 : (total + limit - 1) / limit,
        },
    };

    /// <summary>The <c>items</c> of page <paramref name="page"/> (from 1) of <paramref name="rows"/>, each as <paramref name="model"/> writes it.</summary>
    public static JsonArray Items<T>(IEnumerable<T> rows, int page, int limit, Func<T, JsonObject> model) =>
        new(rows.Skip((page - 1) * limit).Take(limit).Select(r => (JsonNode)model(r)).ToArray());

    /// <summary>Validates a path id as <c>UUID4</c> (loc <c>["path", name]</c>).</summary>
    public static string PathUuid(ApiRequest request, string name)
    {
        var errors = new ValidationErrors();
        var id = InputRules.Uuid4(request.Values[name], ValidationErrors.Loc("path", name), errors);
        if (id is null)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return id;
    }

    /// <summary>Validates every value of a repeatable UUID query filter (loc <c>["query", name, i]</c>).</summary>
    public static List<string> QueryUuids(IQueryCollection query, string name, ValidationErrors errors)
    {
        var result = new List<string>();
        if (!query.TryGetValue(name, out var values))
        {
            return result;
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (InputRules.Uuid4(values[i] ?? "", ValidationErrors.Loc("query", name, i), errors) is { } id)
            {
                result.Add(id);
            }
        }

        return result;
    }

    /// <summary>pydantic's lax boolean parsing of a query value.</summary>
    public static bool? QueryBool(IQueryCollection q, string name, ValidationErrors errors)
    {
        if (!q.TryGetValue(name, out var v))
        {
            return null;
        }

        var text = v.ToString().ToLowerInvariant();
        if (text is "true" or "1" or "yes" or "on" or "t" or "y")
        {
            return true;
        }

        if (text is "false" or "0" or "no" or "off" or "f" or "n")
        {
            return false;
        }

        errors.Add("bool_parsing", ValidationErrors.Loc("query", name), "Input should be a valid boolean, unable to interpret input", JsonValue.Create(v.ToString()));
        return null;
    }
}
