using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Field rules with pydantic's error types and messages, as Polar reports them.
/// Each method adds at most one error and returns the parsed value when the input is valid.
/// </summary>
internal static class InputRules
{
    private static readonly string[] SpecialUseTlds = ["arpa", "invalid", "local", "localhost", "onion", "test", "example"];
    private static readonly SearchValues<char> InvalidLocalChars = SearchValues.Create(" @<>()[]\\,;:\"");
    private static readonly string[] NoMailDomains = ["example.com", "example.net", "example.org"];

    public static JsonArray Append(JsonArray loc, object part)
    {
        var copy = (JsonArray)loc.DeepClone();
        copy.Add(part is int i ? JsonValue.Create(i) : JsonValue.Create((string)part));
        return copy;
    }

    public static string? String(JsonNode? value, JsonArray loc, ValidationErrors errors, int? maxLength = null, int? minLength = null)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            errors.Add("string_type", loc, "Input should be a valid string", value);
            return null;
        }

        var s = v.GetValue<string>();
        var length = Characters(s);
        if (minLength is { } min && length < min)
        {
            errors.Add("string_too_short", loc, $"String should have at least {min} character{(min == 1 ? "" : "s")}", value, new JsonObject { ["min_length"] = min });
            return null;
        }

        if (maxLength is { } max && length > max)
        {
            errors.Add("string_too_long", loc, $"String should have at most {max} characters", value, new JsonObject { ["max_length"] = max });
            return null;
        }

        return s;
    }

    /// <summary>
    /// A string's length as pydantic's <c>min_length</c>/<c>max_length</c> count it: Python's <c>len</c>, in code points,
    /// so a character outside the Basic Multilingual Plane (an emoji) is one, not two UTF-16 units.
    /// </summary>
    public static int Characters(string s)
    {
        var count = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    /// <summary>A JSON object, where pydantic expects a model.</summary>
    public static JsonObject? Object(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is JsonObject o)
        {
            return o;
        }

        errors.Add("model_attributes_type", loc, "Input should be a valid dictionary or object to extract fields from", value);
        return null;
    }

    public static bool? Bool(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValue<bool>();
        }

        errors.Add("bool_type", loc, "Input should be a valid boolean", value);
        return null;
    }

    public static long? Int(JsonNode? value, JsonArray loc, ValidationErrors errors, long? min = null, long? max = null)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<long>(out var n))
        {
            errors.Add("int_type", loc, "Input should be a valid integer", value);
            return null;
        }

        if (min is { } lo && n < lo)
        {
            errors.Add("greater_than_equal", loc, $"Input should be greater than or equal to {lo}", value, new JsonObject { ["ge"] = lo });
            return null;
        }

        if (max is { } hi && n > hi)
        {
            errors.Add("less_than_equal", loc, $"Input should be less than or equal to {hi}", value, new JsonObject { ["le"] = hi });
            return null;
        }

        return n;
    }

    /// <summary>A UUID of version 4 given as a JSON string.</summary>
    public static string? Uuid4(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            errors.Add("uuid_type", loc, "UUID input should be a string, bytes or UUID object", value);
            return null;
        }

        return Uuid4(v.GetValue<string>(), loc, errors);
    }

    /// <summary>A UUID of version 4 given as text (path or query).</summary>
    public static string? Uuid4(string text, JsonArray loc, ValidationErrors errors)
    {
        var problem = UuidProblem(text);
        if (problem is not null)
        {
            errors.Add("uuid_parsing", loc, "Input should be a valid UUID, " + problem, text, new JsonObject { ["error"] = problem });
            return null;
        }

        var guid = Guid.Parse(text.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase) ? text[9..] : text);
        if (guid.Version != 4)
        {
            errors.Add("uuid_version", loc, "UUID version 4 expected", text, new JsonObject { ["expected_version"] = 4 });
            return null;
        }

        return guid.ToString("D");
    }

    private static string? UuidProblem(string text)
    {
        var s = text.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase) ? text[9..] : text;
        var offset = text.Length - s.Length;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (!(char.IsAsciiHexDigit(c) || c == '-'))
            {
                return $"invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `{c}` at {offset + i + 1}";
            }
        }

        if (!s.Contains('-', StringComparison.Ordinal))
        {
            return s.Length == 32 ? null : $"invalid length: expected length 32 for simple format, found {s.Length}";
        }

        var groups = s.Split('-');
        if (groups.Length != 5)
        {
            return $"invalid group count: expected 5, found {groups.Length}";
        }

        int[] expected = [8, 4, 4, 4, 12];
        for (var g = 0; g < 5; g++)
        {
            if (groups[g].Length != expected[g])
            {
                return $"invalid group length in group {g}: expected {expected[g]}, found {groups[g].Length}";
            }
        }

        return null;
    }

    /// <summary>
    /// An email address, with the verdicts of <c>email_validator</c>'s deliverability check for the
    /// addresses tests use: special-use names are refused, and so are the example domains, which publish a
    /// null MX. Every other syntactically valid domain is accepted: the emulator
    /// does no DNS look-ups.
    /// </summary>
    public static string? Email(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        var s = String(value, loc, errors);
        if (s is null)
        {
            return null;
        }

        var reason = EmailProblem(s);
        if (reason is not null)
        {
            errors.Add("value_error", loc, "value is not a valid email address: " + reason, value, new JsonObject { ["reason"] = reason });
            return null;
        }

        return s.Trim();
    }

    /// <summary>Why <paramref name="email"/> is refused, or <see langword="null"/>.</summary>
    public static string? EmailProblem(string email)
    {
        var at = email.LastIndexOf('@');
        if (at < 0)
        {
            return "An email address must have an @-sign.";
        }

        if (at == 0)
        {
            return "There must be something before the @-sign.";
        }

        var domain = email[(at + 1)..].Trim().TrimEnd('.').ToLowerInvariant();
        if (domain.Length == 0)
        {
            return "There must be something after the @-sign.";
        }

        if (email.AsSpan(0, at).ContainsAny(InvalidLocalChars))
        {
            return "The email address contains invalid characters before the @-sign.";
        }

        var tld = domain[(domain.LastIndexOf('.') + 1)..];
        if (SpecialUseTlds.Contains(tld) || SpecialUseTlds.Contains(domain))
        {
            return "The part after the @-sign is a special-use or reserved name that cannot be used with email.";
        }

        if (!domain.Contains('.', StringComparison.Ordinal))
        {
            return "The part after the @-sign is not valid. It should have a period.";
        }

        if (NoMailDomains.Any(d => domain == d || domain.EndsWith("." + d, StringComparison.Ordinal)))
        {
            return $"The domain name {domain} does not accept email.";
        }

        return null;
    }

    /// <summary>An absolute http(s) URL (pydantic <c>HttpUrl</c>), at most 2083 characters.</summary>
    public static string? Url(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        var s = String(value, loc, errors, maxLength: 2083, minLength: 1);
        if (s is null)
        {
            return null;
        }

        if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add("url_parsing", loc, "Input should be a valid URL, relative URL without a base", value, new JsonObject { ["error"] = "relative URL without a base" });
            return null;
        }

        if (uri.Scheme is not ("http" or "https"))
        {
            errors.Add("url_scheme", loc, "URL scheme should be 'http' or 'https'", value, new JsonObject { ["expected_schemes"] = "'http' or 'https'" });
            return null;
        }

        return s;
    }

    /// <summary>One of <paramref name="allowed"/>, with pydantic's <c>enum</c> error otherwise.</summary>
    public static string? Enum(JsonNode? value, JsonArray loc, ValidationErrors errors, IReadOnlyList<string> allowed)
    {
        string? s = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        if (s is not null && allowed.Contains(s))
        {
            return s;
        }

        var expected = ExpectedList(allowed);
        errors.Add("enum", loc, "Input should be " + expected, value, new JsonObject { ["expected"] = expected });
        return null;
    }

    public static string ExpectedList(IReadOnlyList<string> allowed)
    {
        var quoted = allowed.Select(a => "'" + a + "'").ToList();
        return quoted.Count == 1 ? quoted[0] : string.Join(", ", quoted.Take(quoted.Count - 1)) + " or " + quoted[^1];
    }

    /// <summary>
    /// Metadata (<c>kit/metadata.py</c>): at most 50 pairs, keys 1–40 characters, values a string of
    /// 1–500 characters, an integer, a number or a boolean.
    /// </summary>
    public static JsonObject? Metadata(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is not JsonObject o)
        {
            errors.Add("dict_type", loc, "Input should be a valid dictionary", value);
            return null;
        }

        var before = errors.Count;
        if (o.Count > 50)
        {
            errors.Add("too_long", loc, $"Dictionary should have at most 50 items after validation, not {o.Count}", value,
                new JsonObject { ["field_type"] = "Dictionary", ["max_length"] = 50, ["actual_length"] = o.Count });
        }

        foreach (var (key, item) in o)
        {
            var keyLoc = Append(loc, key);
            if (key.Length is < 1 or > 40)
            {
                var msg = key.Length < 1 ? "String should have at least 1 character" : "String should have at most 40 characters";
                errors.Add(key.Length < 1 ? "string_too_short" : "string_too_long", Append(keyLoc, "[key]"), msg, JsonValue.Create(key),
                    key.Length < 1 ? new JsonObject { ["min_length"] = 1 } : new JsonObject { ["max_length"] = 40 });
            }

            switch (item?.GetValueKind())
            {
                case JsonValueKind.String:
                    var s = item.GetValue<string>();
                    if (s.Length < 1)
                    {
                        errors.Add("string_too_short", Append(keyLoc, "str"), "String should have at least 1 character", item, new JsonObject { ["min_length"] = 1 });
                    }
                    else if (s.Length > 500)
                    {
                        errors.Add("string_too_long", Append(keyLoc, "str"), "String should have at most 500 characters", item, new JsonObject { ["max_length"] = 500 });
                    }

                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    break;
                default:
                    errors.Add("string_type", Append(keyLoc, "str"), "Input should be a valid string", item);
                    errors.Add("int_type", Append(keyLoc, "int"), "Input should be a valid integer", item);
                    errors.Add("float_type", Append(keyLoc, "float"), "Input should be a valid number", item);
                    errors.Add("bool_type", Append(keyLoc, "bool"), "Input should be a valid boolean", item);
                    break;
            }
        }

        return errors.Count == before ? (JsonObject)o.DeepClone() : null;
    }

    /// <summary>Parses a query integer that must be greater than zero (pagination).</summary>
    public static int? PositiveQueryInt(string? text, string name, int fallback, ValidationErrors errors)
    {
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            errors.Add("int_parsing", ValidationErrors.Loc("query", name), "Input should be a valid integer, unable to parse string as an integer", JsonValue.Create(text));
            return null;
        }

        if (n <= 0)
        {
            errors.Add("greater_than", ValidationErrors.Loc("query", name), "Input should be greater than 0", JsonValue.Create(text), new JsonObject { ["gt"] = 0 });
            return null;
        }

        return n;
    }
}
