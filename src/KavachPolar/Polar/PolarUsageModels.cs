using System.Text.Json;
using System.Text.Json.Serialization;

namespace KavachPolar.Polar;

/// <summary><c>POST /v1/events/ingest</c>'s answer: how many were stored, how many were known <c>external_id</c>s.</summary>
internal sealed record PolarIngestResult(int Inserted = 0, int Duplicates = 0);

/// <summary>
/// A customer meter (<c>GET /v1/customer-meters/</c>): <c>consumed_units</c> and <c>balance</c> are numbers,
/// <c>credited_units</c> an integer.
/// </summary>
internal sealed record PolarCustomerMeter(
    string Id,
    DateTimeOffset CreatedAt,
    string CustomerId,
    string MeterId,
    decimal ConsumedUnits,
    decimal CreditedUnits,
    decimal Balance,
    DateTimeOffset? ModifiedAt = null);

internal sealed record PolarCustomerMeterList(List<PolarCustomerMeter> Items, PolarPagination Pagination);

/// <summary>A meter (<c>GET /v1/meters/{id}</c>): its filter and aggregation, read as they come.</summary>
internal sealed record PolarMeter(string Id, string Name, JsonElement Filter = default, JsonElement Aggregation = default);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PolarIngestResult))]
[JsonSerializable(typeof(PolarCustomerMeter))]
[JsonSerializable(typeof(PolarCustomerMeterList))]
[JsonSerializable(typeof(PolarMeter))]
internal sealed partial class PolarUsageJsonContext : JsonSerializerContext;
