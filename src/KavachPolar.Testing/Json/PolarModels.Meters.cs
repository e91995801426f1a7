using System.Globalization;
using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Json;

internal sealed partial class PolarModels
{
    /// <summary><c>Meter</c> (<c>meter/schemas.py</c>): metadata first, as its mixins order it.</summary>
    public JsonObject Meter(MeterRecord m) => new()
    {
        ["metadata"] = m.Metadata.DeepClone(),
        ["created_at"] = PolarJson.Date(m.CreatedAt),
        ["modified_at"] = null,
        ["id"] = m.Id,
        ["name"] = m.Name,
        ["unit"] = m.Unit,
        ["custom_label"] = m.CustomLabel,
        ["custom_multiplier"] = m.CustomMultiplier,
        ["filter"] = m.Rules.Filter.DeepClone(),
        ["aggregation"] = m.Rules.Aggregation.DeepClone(),
        ["organization_id"] = OrganizationId,
        ["archived_at"] = PolarJson.Date(m.ArchivedAt),
    };

    /// <summary><c>CustomerMeter</c> (<c>customer_meter/schemas.py</c>), with the customer and the meter.</summary>
    public JsonObject CustomerMeter(CustomerMeterRecord r)
    {
        return new JsonObject
        {
            ["id"] = r.Id,
            ["created_at"] = PolarJson.Date(r.CreatedAt),
            ["modified_at"] = PolarJson.Date(r.ModifiedAt),
            ["customer_id"] = r.CustomerId,
            ["meter_id"] = r.MeterId,
            ["consumed_units"] = Float(r.ConsumedUnits),
            ["credited_units"] = r.CreditedUnits,
            ["balance"] = Float(r.Balance),
            ["customer"] = Customer(store.CustomerIncludingDeleted(r.CustomerId)),
            ["meter"] = Meter(store.Meter(r.MeterId)),
        };
    }

    /// <summary><c>CustomerStateMeter</c>: one of the customer state's <c>active_meters</c>.</summary>
    public static JsonObject CustomerStateMeter(CustomerMeterRecord r) => new()
    {
        ["id"] = r.Id,
        ["created_at"] = PolarJson.Date(r.CreatedAt),
        ["modified_at"] = PolarJson.Date(r.ModifiedAt),
        ["meter_id"] = r.MeterId,
        ["consumed_units"] = Float(r.ConsumedUnits),
        ["credited_units"] = r.CreditedUnits,
        ["balance"] = Float(r.Balance),
    };

    /// <summary>The customer's <c>active_meters</c>: every row, oldest first (<c>get_all_by_customer</c>).</summary>
    public JsonArray ActiveMeters(CustomerRecord c) => new(store.CustomerMetersOf(c.Id).Select(r => (JsonNode)CustomerStateMeter(r)).ToArray());

    /// <summary>A pydantic <c>float</c> as Python's JSON writes it: <c>25.0</c>, <c>0.5</c>, <c>1e+16</c>.</summary>
    public static JsonNode Float(double value)
    {
        string text;
        var abs = Math.Abs(value);
        if (value == Math.Floor(value) && abs < 1e16)
        {
            text = ((long)value).ToString(CultureInfo.InvariantCulture) + ".0";
        }
        else if (abs >= 1e-4 && abs < 1e16)
        {
            text = value.ToString("R", CultureInfo.InvariantCulture);
        }
        else
        {
            // Python writes exponents with a sign and at least two digits; .NET's shortest form is "1.5E-05" or "1E+16".
            text = value.ToString("R", CultureInfo.InvariantCulture);
            var e = text.IndexOf('E', StringComparison.Ordinal);
            if (e >= 0)
            {
                var exponent = int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture);
                text = text[..e] + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("D2", CultureInfo.InvariantCulture);
            }
        }

        return JsonNode.Parse(text)!;
    }
}
