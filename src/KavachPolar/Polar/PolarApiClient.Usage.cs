using System.Net.Http.Headers;
using System.Text;

namespace KavachPolar.Polar;

/// <summary>Polar's usage routes: event ingestion, customer meters, meters.</summary>
internal sealed partial class PolarApiClient
{
    /// <summary>
    /// <c>POST /v1/events/ingest</c> (no trailing slash; <c>events:write</c>) with a body already written as
    /// <c>{"events":[...]}</c>, sent as bytes with its <c>Content-Length</c>. Never retried here: the sender decides.
    /// </summary>
    public Task<PolarResult<PolarIngestResult>> IngestEventsAsync(byte[] body, CancellationToken ct)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return SendAsync(HttpMethod.Post, "v1/events/ingest", content, PolarUsageJsonContext.Default.PolarIngestResult, ct);
    }

    /// <summary>
    /// <c>GET /v1/customer-meters/?external_customer_id=&amp;meter_id=</c> (<c>customer_meters:read</c>): the customer's
    /// row for the meter, or an empty list (never a 404) when it has none or the customer does not exist.
    /// </summary>
    public Task<PolarResult<PolarCustomerMeterList>> ListCustomerMetersAsync(string externalCustomerId, string meterId, CancellationToken ct)
    {
        var query = new StringBuilder("v1/customer-meters/?limit=10&page=1&external_customer_id=").Append(Uri.EscapeDataString(externalCustomerId))
            .Append("&meter_id=").Append(Uri.EscapeDataString(meterId));
        AppendOrganization(query);
        return SendAsync(HttpMethod.Get, query.ToString(), null, PolarUsageJsonContext.Default.PolarCustomerMeterList, ct);
    }

    /// <summary>The meter (<c>GET /v1/meters/{id}</c>, <c>meters:read</c>), for its filter and aggregation.</summary>
    public Task<PolarResult<PolarMeter>> GetMeterAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/meters/" + PathSegment(id), null, PolarUsageJsonContext.Default.PolarMeter, ct);
}
