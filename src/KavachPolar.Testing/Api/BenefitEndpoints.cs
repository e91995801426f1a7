using System.Text.Json.Nodes;
using KavachPolar.Testing.State;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// <c>GET /v1/benefits/</c>, <c>GET /v1/benefits/{id}</c>, <c>GET /v1/benefits/{id}/grants</c> and
/// <c>GET /v1/benefit-grants/</c> (https://github.com/polarsource/polar/blob/main/server/polar/benefit/endpoints.py and
/// <c>benefit/grant/endpoints.py</c>).
/// </summary>
internal sealed class BenefitEndpoints(EmulatorStore store)
{
    private static readonly string[] Types = ["custom", "discord", "github_repository", "downloadables", "license_keys", "meter_credit", "feature_flag", "slack_shared_channel"];
    private static readonly string[] BenefitSortKeys = ["created_at", "description", "type", "user_order"];
    private static readonly string[] GrantSortKeys = ["created_at", "granted_at", "revoked_at"];

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var q = request.Query;
        var (page, limit) = Pagination.Parse(q, errors);
        var types = new List<string>();
        for (var i = 0; q.TryGetValue("type", out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i] ?? ""), ValidationErrors.Loc("query", "type", i), errors, Types) is { } t)
            {
                types.Add(t);
            }
        }

        var query = new BenefitQuery
        {
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            Types = types,
            Ids = Pagination.QueryUuids(q, "id", errors),
            ExcludeIds = Pagination.QueryUuids(q, "exclude_id", errors),
            Query = q.TryGetValue("query", out var text) ? text.ToString() : null,
            Sorting = Sorting(q, BenefitSortKeys, errors),
            Page = page,
            Limit = limit,
        };
        Throw(errors);
        var (items, total) = store.ListBenefits(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetBenefit(Pagination.PathUuid(request, "id"))));

    /// <summary><c>GET /v1/benefits/{id}/grants</c>: newest first; 404 when the benefit does not exist.</summary>
    public Task<ApiResult> ListGrantsOfBenefitAsync(ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        var errors = new ValidationErrors();
        var q = request.Query;
        var (page, limit) = Pagination.Parse(q, errors);
        var query = new BenefitGrantQuery
        {
            BenefitId = id,
            IsGranted = OptionalBool(q, "is_granted", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            MemberIds = Pagination.QueryUuids(q, "member_id", errors),
            Page = page,
            Limit = limit,
        };
        Throw(errors);
        store.RequireBenefit(id);
        var (items, total) = store.ListBenefitGrants(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    /// <summary><c>GET /v1/benefit-grants/</c>: no <c>member_id</c> filter here.</summary>
    public Task<ApiResult> ListGrantsAsync(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var q = request.Query;
        var (page, limit) = Pagination.Parse(q, errors);
        var query = new BenefitGrantQuery
        {
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            ExternalCustomerIds = q["external_customer_id"].Select(v => v ?? "").ToList(),
            IsGranted = OptionalBool(q, "is_granted", errors),
            Sorting = Sorting(q, GrantSortKeys, errors),
            Page = page,
            Limit = limit,
        };
        Throw(errors);
        var (items, total) = store.ListBenefitGrants(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    private static void Throw(ValidationErrors errors)
    {
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }
    }

    /// <summary><c>SortingGetter</c>: each <c>sorting</c> value a key or a key with <c>-</c>; the default <c>-created_at</c>.</summary>
    private static List<string> Sorting(IQueryCollection q, string[] keys, ValidationErrors errors)
    {
        var sorting = new List<string>();
        var expected = keys.SelectMany(k => new[] { k, "-" + k }).ToList();
        for (var i = 0; q.TryGetValue("sorting", out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i] ?? ""), ValidationErrors.Loc("query", "sorting", i), errors, expected) is { } s)
            {
                sorting.Add(s);
            }
        }

        return sorting.Count > 0 ? sorting : ["-created_at"];
    }

    /// <summary>pydantic's lax boolean parsing of a query value.</summary>
    private static bool? OptionalBool(IQueryCollection q, string name, ValidationErrors errors)
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
