using System.Text.Json.Nodes;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.State;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Testing.Api;

/// <summary>
/// <c>GET /v1/webhooks/endpoints</c> and <c>GET /v1/webhooks/endpoints/{id}</c> (<c>server/polar/webhook/endpoints.py</c>):
/// the organization's endpoints, newest first, each with its <c>secret</c> and <c>enabled</c> flag, as an organization
/// access token with <c>webhooks:read</c> or <c>webhooks:write</c> sees them.
/// </summary>
internal sealed class WebhookEndpointEndpoints(EmulatorStore store, WebhookDispatcher webhooks)
{
    public ApiResult List(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(request.Query, errors);
        var organizations = Pagination.QueryUuids(request.Query, "organization_id", errors);
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        // webhook_service.list_endpoints: the token's organization, then the filter, newest first (created_at desc).
        var rows = organizations.Count == 0 || organizations.Contains(store.OrganizationId, StringComparer.Ordinal)
            ? webhooks.Endpoints.Select((e, i) => (Endpoint: e, Index: i)).OrderByDescending(x => x.Endpoint.CreatedAt).ThenByDescending(x => x.Index).Select(x => x.Endpoint).ToList()
            : [];
        return new ApiResult(200, Pagination.Page(Pagination.Items(rows, page, limit, Model), rows.Count, limit));
    }

    public ApiResult Get(ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        return webhooks.Endpoints.FirstOrDefault(e => e.Id == id) is { } endpoint ? new ApiResult(200, Model(endpoint)) : throw PolarApiException.NotFound();
    }

    /// <summary><c>WebhookEndpoint</c>, field for field in the order of Polar's schema.</summary>
    private JsonObject Model(EmulatorWebhookEndpoint e) => new()
    {
        ["created_at"] = PolarJson.Date(e.CreatedAt),
        ["modified_at"] = PolarJson.Date(e.ModifiedAt),
        ["id"] = e.Id,
        ["url"] = e.Url.AbsoluteUri,
        ["name"] = null,
        ["format"] = "raw",
        ["secret"] = e.Secret,
        ["organization_id"] = store.OrganizationId,
        // Polar stores the list the endpoint was created with; an emulator endpoint registered for every event lists them all.
        ["events"] = new JsonArray(WebhookEventTypes.Ordered.Where(e.Receives).Select(t => (JsonNode)t).ToArray()),
        ["enabled"] = e.Enabled,
    };
}
