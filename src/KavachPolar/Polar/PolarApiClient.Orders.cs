using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KavachPolar.Polar;

/// <summary>Polar's order, invoice and product routes.</summary>
internal sealed partial class PolarApiClient
{
    /// <summary>
    /// One page (100) of orders (<c>GET /v1/orders/</c>, <c>orders:read</c>), filtered by <paramref name="filterName"/>
    /// (e.g. <c>customer_id</c>) when <paramref name="filterValue"/> is given, every status included.
    /// </summary>
    public Task<PolarResult<PolarOrderList>> ListOrdersAsync(string filterName, string? filterValue, int page, CancellationToken ct)
    {
        var query = new StringBuilder("v1/orders/?limit=100&page=").Append(page.ToString(CultureInfo.InvariantCulture));
        if (filterValue is not null)
        {
            query.Append('&').Append(Uri.EscapeDataString(filterName)).Append('=').Append(Uri.EscapeDataString(filterValue));
        }

        AppendOrganization(query);
        return SendAsync(HttpMethod.Get, query.ToString(), null, PolarOrderJsonContext.Default.PolarOrderList, ct);
    }

    /// <summary>The product (<c>GET /v1/products/{id}</c>, <c>products:read</c>): whether it is recurring.</summary>
    public Task<PolarResult<PolarProduct>> GetProductAsync(string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/products/" + PathSegment(id), null, PolarOrderJsonContext.Default.PolarProduct, ct);

    /// <summary>
    /// The order's invoice URL (<c>GET /v1/orders/{id}/invoice</c>). Before Polar has generated it: 404
    /// <c>InvoiceDoesNotExist</c> (the OpenAPI document says <c>ResourceNotFound</c>), a <see cref="PolarErrorKind.NotFound"/>.
    /// </summary>
    public Task<PolarResult<PolarInvoice>> GetInvoiceAsync(string orderId, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "v1/orders/" + PathSegment(orderId) + "/invoice", null, PolarOrderJsonContext.Default.PolarInvoice, ct);

    /// <summary>
    /// Asks Polar to generate the order's invoice (<c>POST /v1/orders/{id}/invoice</c>, <c>orders:read</c>): 202 with
    /// the body <c>null</c>, the invoice made later by a job. No body is sent (<c>Content-Length: 0</c>).
    /// </summary>
    public Task<PolarResult<JsonElement>> GenerateInvoiceAsync(string orderId, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "v1/orders/" + PathSegment(orderId) + "/invoice", null, PolarOrderJsonContext.Default.JsonElement, ct, ignoreBody: true);
}
