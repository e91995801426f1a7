using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary>
/// <c>POST /v1/events/ingest</c> (<c>event/endpoints.py</c>, <c>event/schemas.py</c>). The body is <c>EventsIngest</c>,
/// <c>{"events": [EventCreate, ...]}</c>, where <c>EventCreate</c> is the plain (smart) union
/// <c>EventCreateCustomer | EventCreateExternalCustomer</c>: an event that fits neither gets one error list per member,
/// each <c>loc</c> naming the member, and any pydantic error refuses the whole batch before the service looks at it.
/// </summary>
internal sealed partial class EventEndpoints(EmulatorStore store)
{
    private static readonly (string Name, string Key, string Member)[] Variants =
    [
        ("EventCreateCustomer", "customer_id", "member_id"),
        ("EventCreateExternalCustomer", "external_customer_id", "external_member_id"),
    ];

    public async Task<ApiResult> IngestAsync(ApiRequest request)
    {
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var errors = new ValidationErrors();
        if (InputRules.Object(body, ValidationErrors.Loc("body"), errors) is not { } o)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        if (!o.TryGetPropertyValue("events", out var eventsNode))
        {
            errors.Add("missing", ValidationErrors.Loc("body", "events"), "Field required", o);
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        if (eventsNode is not JsonArray events)
        {
            errors.Add("list_type", ValidationErrors.Loc("body", "events"), "Input should be a valid list", eventsNode);
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var now = store.Read(s => s.Now);
        var inputs = new List<EventInput>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var item = new ValidationErrors();
            EventInput? input = null;
            foreach (var variant in Variants)
            {
                var memberErrors = new ValidationErrors();
                input = Validate(events[i], ValidationErrors.Loc("body", "events", i, variant.Name), variant.Key, variant.Member, now, memberErrors);
                if (memberErrors.Count == 0 && input is not null)
                {
                    break;
                }

                input = null;
                item.AddRange(memberErrors);
            }

            if (input is null)
            {
                errors.AddRange(item);
            }
            else
            {
                inputs.Add(input);
            }
        }

        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return new ApiResult(200, store.Ingest(inputs));
    }

    /// <summary>One union member's validation of one event, fields in the model's order.</summary>
    private static EventInput? Validate(JsonNode? node, JsonArray loc, string key, string member, DateTimeOffset now, ValidationErrors errors)
    {
        if (InputRules.Object(node, loc, errors) is not { } o)
        {
            return null;
        }

        JsonArray At(string field) => InputRules.Append(loc, field);
        bool Given(string field) => o.TryGetPropertyValue(field, out var v) && v is not null;

        DateTimeOffset? timestamp = o.TryGetPropertyValue("timestamp", out var t) ? Timestamp(t, At("timestamp"), now, errors) : null;
        string? name = null;
        if (!o.ContainsKey("name"))
        {
            errors.Add("missing", At("name"), "Field required", o);
        }
        else
        {
            name = NoNul(InputRules.String(o["name"], At("name"), errors, maxLength: 128), o["name"], At("name"), errors);
        }

        var organizationId = Given("organization_id") ? InputRules.Uuid4(o["organization_id"], At("organization_id"), errors) : null;
        var externalId = Given("external_id") ? NoNul(InputRules.String(o["external_id"], At("external_id"), errors), o["external_id"], At("external_id"), errors) : null;
        var parentId = Given("parent_id") ? NoNul(InputRules.String(o["parent_id"], At("parent_id"), errors), o["parent_id"], At("parent_id"), errors) : null;
        var metadata = o.TryGetPropertyValue("metadata", out var m) ? Metadata(m, At("metadata"), errors) : [];

        string? customer = null;
        if (!o.ContainsKey(key))
        {
            errors.Add("missing", At(key), "Field required", o);
        }
        else
        {
            customer = key == "customer_id"
                ? InputRules.Uuid4(o[key], At(key), errors)
                : NoNul(InputRules.String(o[key], At(key), errors), o[key], At(key), errors);
        }

        string? memberValue = null;
        if (Given(member))
        {
            memberValue = member == "member_id"
                ? InputRules.Uuid4(o[member], At(member), errors)
                : NoNul(InputRules.String(o[member], At(member), errors), o[member], At(member), errors);
        }

        if (name is null || customer is null || metadata is null)
        {
            return null;
        }

        return key == "customer_id"
            ? new EventInput(name, timestamp, organizationId, customer, memberValue, null, null, externalId, parentId, metadata)
            : new EventInput(name, timestamp, organizationId, null, null, customer, memberValue, externalId, parentId, metadata);
    }

    /// <summary><c>Schema._reject_nul_characters</c>: a validated value holding U+0000 anywhere is a <c>value_error</c>.</summary>
    private static string? NoNul(string? value, JsonNode? input, JsonArray loc, ValidationErrors errors)
    {
        if (value is not null && value.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add("value_error", loc, "Value error, This value contains invalid characters", input, new JsonObject { ["error"] = new JsonObject() });
            return null;
        }

        return value;
    }

    /// <summary>
    /// <c>AwareDatetime</c> then <c>is_past_timestamp</c>: an ISO 8601 text or a Unix time in seconds (milliseconds above
    /// 2e10), as pydantic reads them in lax mode; a time without offset is <c>timezone_aware</c>; one after the emulator's
    /// clock is a <c>value_error</c> "Timestamp must be in the past.".
    /// </summary>
    private static DateTimeOffset? Timestamp(JsonNode? value, JsonArray loc, DateTimeOffset now, ValidationErrors errors)
    {
        DateTimeOffset parsed;
        if (value is JsonValue n && n.GetValueKind() == JsonValueKind.Number)
        {
            parsed = FromUnix(n.GetValue<double>());
        }
        else if (value is JsonValue s && s.GetValueKind() == JsonValueKind.String)
        {
            var text = s.GetValue<string>();
            if (!text.Contains('-', StringComparison.Ordinal) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var unix))
            {
                parsed = FromUnix(unix);
            }
            else if (IsoDateTime().Match(text) is { Success: true } match)
            {
                // A date alone becomes midnight without an offset, so it is naive too.
                if (!match.Groups["offset"].Success)
                {
                    errors.Add("timezone_aware", loc, "Input should have timezone info", value);
                    return null;
                }

                var normalized = text.Replace('t', 'T').Replace('_', 'T').Replace(' ', 'T').Replace('z', 'Z');
                if (!DateTimeOffset.TryParse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out parsed))
                {
                    errors.Add("datetime_from_date_parsing", loc, "Input should be a valid datetime or date, invalid date", value, new JsonObject { ["error"] = "invalid date" });
                    return null;
                }
            }
            else
            {
                // speedate's first complaint about the date part.
                var reason = text.Length < 10 ? "input is too short"
                    : !text[..4].All(char.IsAsciiDigit) ? "invalid character in year"
                    : "unexpected extra characters at the end of the input";
                errors.Add("datetime_from_date_parsing", loc, "Input should be a valid datetime or date, " + reason, value, new JsonObject { ["error"] = reason });
                return null;
            }
        }
        else
        {
            errors.Add("datetime_type", loc, "Input should be a valid datetime", value);
            return null;
        }

        parsed = EmulatorClock.Truncate(parsed.ToUniversalTime());
        if (parsed > now)
        {
            errors.Add("value_error", loc, "Value error, Timestamp must be in the past.", value, new JsonObject { ["error"] = new JsonObject() });
            return null;
        }

        return parsed;
    }

    private static DateTimeOffset FromUnix(double seconds)
    {
        var s = Math.Abs(seconds) > 2e10 ? seconds / 1000 : seconds;
        return DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(s * TimeSpan.TicksPerSecond));
    }

    /// <summary>
    /// <c>EventMetadataInput</c>: a TypedDict whose <c>_cost</c> and <c>_llm</c> keys are structured and whose other keys
    /// take a <c>MetadataValue</c> (a string of 1 to 500 characters, an integer, a number or a boolean; a smart union, so a
    /// bad value gets one error per member). Keys are not limited in length or number here.
    /// </summary>
    private static JsonObject? Metadata(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is not JsonObject o)
        {
            errors.Add("dict_type", loc, "Input should be a valid dictionary", value);
            return null;
        }

        var before = errors.Count;
        foreach (var (key, item) in o)
        {
            var at = InputRules.Append(loc, key);
            switch (key)
            {
                case "_cost":
                    Cost(item, at, errors);
                    continue;
                case "_llm":
                    Llm(item, at, errors);
                    continue;
            }

            switch (item?.GetValueKind())
            {
                case JsonValueKind.String:
                    var s = item.GetValue<string>();
                    var length = InputRules.Characters(s);
                    if (length is >= 1 and <= 500)
                    {
                        break;
                    }

                    if (length < 1)
                    {
                        errors.Add("string_too_short", InputRules.Append(at, "str"), "String should have at least 1 character", item, new JsonObject { ["min_length"] = 1 });
                    }
                    else
                    {
                        errors.Add("string_too_long", InputRules.Append(at, "str"), "String should have at most 500 characters", item, new JsonObject { ["max_length"] = 500 });
                    }

                    errors.Add("int_parsing", InputRules.Append(at, "int"), "Input should be a valid integer, unable to parse string as an integer", item);
                    errors.Add("float_parsing", InputRules.Append(at, "float"), "Input should be a valid number, unable to parse string as a number", item);
                    errors.Add("bool_parsing", InputRules.Append(at, "bool"), "Input should be a valid boolean, unable to interpret input", item);
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    break;
                default:
                    errors.Add("string_type", InputRules.Append(at, "str"), "Input should be a valid string", item);
                    errors.Add("int_type", InputRules.Append(at, "int"), "Input should be a valid integer", item);
                    errors.Add("float_type", InputRules.Append(at, "float"), "Input should be a valid number", item);
                    errors.Add("bool_type", InputRules.Append(at, "bool"), "Input should be a valid boolean", item);
                    break;
            }
        }

        if (errors.Count > before)
        {
            return null;
        }

        if (ContainsNul(o))
        {
            errors.Add("value_error", loc, "Value error, This value contains invalid characters", o, new JsonObject { ["error"] = new JsonObject() });
            return null;
        }

        return (JsonObject)o.DeepClone();
    }

    private static bool ContainsNul(JsonNode? node) => node switch
    {
        JsonObject o => o.Any(p => p.Key.Contains('\0', StringComparison.Ordinal) || ContainsNul(p.Value)),
        JsonArray a => a.Any(ContainsNul),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Contains('\0', StringComparison.Ordinal),
        _ => false,
    };

    /// <summary><c>CostMetadata</c>: <c>amount</c> (a decimal of at most 17 digits, 12 after the point) and <c>currency</c> (matching <c>usd</c>).</summary>
    private static void Cost(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is not JsonObject o)
        {
            errors.Add("dict_type", loc, "Input should be a valid dictionary", value);
            return;
        }

        if (!o.TryGetPropertyValue("amount", out var amount))
        {
            errors.Add("missing", InputRules.Append(loc, "amount"), "Field required", o);
        }
        else if (amount is not JsonValue a || a.GetValueKind() is not (JsonValueKind.Number or JsonValueKind.String))
        {
            errors.Add("decimal_type", InputRules.Append(loc, "amount"), "Decimal input should be an integer, float, string or Decimal object", amount);
        }
        else if (!decimal.TryParse(a.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : a.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            errors.Add("decimal_parsing", InputRules.Append(loc, "amount"), "Input should be a valid decimal", amount);
        }
        else
        {
            var text = Math.Abs(d).ToString(CultureInfo.InvariantCulture);
            var places = text.Contains('.', StringComparison.Ordinal) ? text.Length - text.IndexOf('.', StringComparison.Ordinal) - 1 : 0;
            var digits = text.Replace(".", "", StringComparison.Ordinal).TrimStart('0').Length;
            if (digits > 17)
            {
                errors.Add("decimal_max_digits", InputRules.Append(loc, "amount"), "Decimal input should have no more than 17 digits in total", amount, new JsonObject { ["max_digits"] = 17 });
            }
            else if (places > 12)
            {
                errors.Add("decimal_max_places", InputRules.Append(loc, "amount"), "Decimal input should have no more than 12 decimal places", amount, new JsonObject { ["decimal_places"] = 12 });
            }
        }

        if (!o.TryGetPropertyValue("currency", out var currency))
        {
            errors.Add("missing", InputRules.Append(loc, "currency"), "Field required", o);
        }
        else if (InputRules.String(currency, InputRules.Append(loc, "currency"), errors) is { } c && !c.Contains("usd", StringComparison.Ordinal))
        {
            errors.Add("string_pattern_mismatch", InputRules.Append(loc, "currency"), "String should match pattern 'usd'", currency, new JsonObject { ["pattern"] = "usd" });
        }
    }

    /// <summary><c>LLMMetadata</c>: vendor, model, optional prompt and response, and the token counts.</summary>
    private static void Llm(JsonNode? value, JsonArray loc, ValidationErrors errors)
    {
        if (value is not JsonObject o)
        {
            errors.Add("dict_type", loc, "Input should be a valid dictionary", value);
            return;
        }

        foreach (var (field, kind, required) in new[]
        {
            ("vendor", "str", true), ("model", "str", true), ("prompt", "str?", false), ("response", "str?", false),
            ("input_tokens", "int", true), ("cached_input_tokens", "int", false), ("output_tokens", "int", true), ("total_tokens", "int", true),
        })
        {
            var at = InputRules.Append(loc, field);
            if (!o.TryGetPropertyValue(field, out var v))
            {
                if (required)
                {
                    errors.Add("missing", at, "Field required", o);
                }

                continue;
            }

            if (kind == "int")
            {
                InputRules.Int(v, at, errors);
            }
            else if (kind == "str" || v is not null)
            {
                InputRules.String(v, at, errors);
            }
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(?<time>[Tt_ ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(?<offset>[Zz]|[+-]\d{2}(:?\d{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDateTime();
}
