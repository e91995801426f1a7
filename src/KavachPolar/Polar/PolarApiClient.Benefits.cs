using System.Globalization;
using System.Text;

namespace KavachPolar.Polar;

/// <summary>Polar's benefit routes.</summary>
internal sealed partial class PolarApiClient
{
    /// <summary>
    /// One page (100) of a customer's grants, granted or not (<c>GET /v1/benefit-grants/?customer_id=</c>,
    /// <c>benefits:read</c>), or of the organization's when <paramref name="customerId"/> is null: every grant Polar
    /// keeps; soft-deleted ones are left out, so a grant missing from all pages is gone.
    /// </summary>
    public Task<PolarResult<PolarBenefitGrantList>> ListBenefitGrantsAsync(string? customerId, int page, CancellationToken ct)
    {
        var query = new StringBuilder("v1/benefit-grants/?limit=100&page=").Append(page.ToString(CultureInfo.InvariantCulture));
        if (customerId is not null)
        {
            query.Append("&customer_id=").Append(Uri.EscapeDataString(customerId));
        }

        AppendOrganization(query);
        return SendAsync(HttpMethod.Get, query.ToString(), null, PolarBenefitJsonContext.Default.PolarBenefitGrantList, ct);
    }
}
