using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>/v1/meters/</c> (<c>meter/endpoints.py</c>) and <c>/v1/customer-meters/</c> (<c>customer_meter/endpoints.py</c>).</summary>
internal sealed class MeterEndpoints(EmulatorStore store)
{
    private static readonly string[] MeterSortKeys = ["created_at", "name"];
    private static readonly string[] CustomerMeterSortKeys = ["created_at", "modified_at", "customer_id", "customer_name", "meter_id", "meter_name", "consumed_units", "credited_units", "balance"];

    /// <summary><c>GET /v1/meters/</c>: <c>query</c> (name, case-insensitive), <c>is_archived</c>, <c>organization_id</c>, sorting (default <c>name</c>).</summary>
    public Task<ApiResult> ListMetersAsync(ApiRequest request)
    {
        var q = request.Query;
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(q, errors);
        var organizations = Pagination.QueryUuids(q, "organization_id", errors);
        var sorting = Sorting(q, MeterSortKeys, errors);
        bool? archived = null;
        if (q.TryGetValue("is_archived", out var a))
        {
            var text = a.ToString().ToLowerInvariant();
            archived = text is "true" or "1" or "yes" or "on" or "t" or "y" ? true : text is "false" or "0" or "no" or "off" or "f" or "n" ? false : null;
            if (archived is null)
            {
                errors.Add("bool_parsing", ValidationErrors.Loc("query", "is_archived"), "Input should be a valid boolean, unable to interpret input", JsonValue.Create(a.ToString()));
            }
        }

        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        if (organizations.Count > 0 && !organizations.Contains(store.OrganizationId))
        {
            return Task.FromResult(new ApiResult(200, Pagination.Page([], 0, limit)));
        }

        var query = q.TryGetValue("query", out var text2) ? text2.ToString() : null;
        var (items, total) = store.ListMeters(query, archived, sorting.Count > 0 ? sorting : ["name"], page, limit);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetMeterAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetMeter(Pagination.PathUuid(request, "id"))));

    /// <summary><c>GET /v1/customer-meters/</c>: filters repeat (<c>customer_id</c>, <c>external_customer_id</c>, <c>meter_id</c>, <c>organization_id</c>); default sorting <c>-modified_at</c>.</summary>
    public Task<ApiResult> ListCustomerMetersAsync(ApiRequest request)
    {
        var q = request.Query;
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(q, errors);
        var query = new CustomerMeterQuery
        {
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            ExternalCustomerIds = q["external_customer_id"].Select(v => v ?? "").ToList(),
            MeterIds = Pagination.QueryUuids(q, "meter_id", errors),
            Sorting = Sorting(q, CustomerMeterSortKeys, errors) is { Count: > 0 } s ? s : ["-modified_at"],
            Page = page,
            Limit = limit,
        };
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var (items, total) = store.ListCustomerMeters(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetCustomerMeterAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetCustomerMeter(Pagination.PathUuid(request, "id"))));

    /// <summary><c>SortingGetter</c>: each <c>sorting</c> value is a key or <c>-key</c>, an <c>enum</c> error otherwise.</summary>
    private static List<string> Sorting(Microsoft.AspNetCore.Http.IQueryCollection q, string[] keys, ValidationErrors errors)
    {
        var result = new List<string>();
        var expected = keys.SelectMany(k => new[] { k, "-" + k }).ToList();
        for (var i = 0; q.TryGetValue("sorting", out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i] ?? ""), ValidationErrors.Loc("query", "sorting", i), errors, expected) is { } s)
            {
                result.Add(s);
            }
        }

        return result;
    }
}
