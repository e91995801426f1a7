using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>/v1/customers/</c> and <c>/v1/customer-sessions/</c>.</summary>
internal sealed class CustomerEndpoints(EmulatorStore store)
{
    /// <summary>
    /// <c>POST /v1/customers/</c>. The body is <c>CustomerCreate</c>, a union discriminated by a function of <c>type</c>
    /// (default <c>individual</c>), so pydantic's errors carry the tag in <c>loc</c>: <c>["body","individual","email"]</c>
    /// (https://github.com/polarsource/polar/blob/main/server/polar/customer/schemas/customer.py). The service's own
    /// checks (email or external id taken) keep <c>["body","email"]</c>.
    /// </summary>
    public async Task<ApiResult> CreateAsync(ApiRequest request)
    {
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var errors = new ValidationErrors();
        var tag = body is JsonObject t && t.TryGetPropertyValue("type", out var typeNode) ? TagOf(typeNode) : "individual";
        if (tag == "team")
        {
            errors.Add("value_error", ValidationErrors.Loc("body", "team"), "The emulator only creates individual customers.", body);
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        if (tag != "individual")
        {
            errors.Add("union_tag_invalid", ValidationErrors.Loc("body"),
                $"Input tag '{tag}' found using _customer_create_type() does not match any of the expected tags: 'individual', 'team'", body,
                new JsonObject { ["discriminator"] = "_customer_create_type()", ["tag"] = tag, ["expected_tags"] = "'individual', 'team'" });
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        if (InputRules.Object(body, ValidationErrors.Loc("body", "individual"), errors) is not { } o)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        JsonArray At(string field) => ValidationErrors.Loc("body", "individual", field);
        bool Present(string name) => o.TryGetPropertyValue(name, out var v) && v is not null;
        string? email = null;
        if (!o.ContainsKey("email"))
        {
            errors.Add("missing", At("email"), "Field required", o);
        }
        else
        {
            email = InputRules.Email(o["email"], At("email"), errors);
        }

        var name = Present("name") ? InputRules.String(o["name"], At("name"), errors, 256) : null;
        var externalId = Present("external_id") ? InputRules.String(o["external_id"], At("external_id"), errors) : null;
        var locale = Present("locale") ? InputRules.String(o["locale"], At("locale"), errors) : null;
        var metadata = Present("metadata") ? InputRules.Metadata(o["metadata"], At("metadata"), errors) : [];
        if (errors.Count > 0 || email is null)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return new ApiResult(201, store.CreateCustomer(email, name, externalId, metadata ?? [], locale));
    }

    /// <summary>Python's <c>str(v.get("type", "individual"))</c> for a JSON value.</summary>
    private static string TagOf(JsonNode? type) => type switch
    {
        null => "None",
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.True => "True",
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.False => "False",
        _ => type.ToJsonString(),
    };

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(request.Query, errors);
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var email = request.Query.TryGetValue("email", out var e) ? e.ToString() : null;
        var query = request.Query.TryGetValue("query", out var q) ? q.ToString() : null;
        var (items, total) = store.ListCustomers(email, query, page, limit);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetAsync(ApiRequest request, bool external, bool state)
    {
        var key = external ? request.Values["external_id"] : Pagination.PathUuid(request, "id");
        return Task.FromResult(new ApiResult(200, store.GetCustomer(key, external, state)));
    }

    /// <summary><c>DELETE /v1/customers/{id}</c>: 204, a soft delete.</summary>
    public Task<ApiResult> DeleteAsync(ApiRequest request)
    {
        store.DeleteCustomer(Pagination.PathUuid(request, "id"));
        return Task.FromResult(new ApiResult(204, null));
    }

    /// <summary>The body is a union of <c>CustomerSessionCustomerIDCreate</c> and <c>CustomerSessionCustomerExternalIDCreate</c>.</summary>
    public async Task<ApiResult> CreateSessionAsync(ApiRequest request)
    {
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var all = new ValidationErrors();
        foreach (var (member, key) in new[] { ("CustomerSessionCustomerIDCreate", "customer_id"), ("CustomerSessionCustomerExternalIDCreate", "external_customer_id") })
        {
            var errors = new ValidationErrors();
            var loc = ValidationErrors.Loc("body", member);
            if (InputRules.Object(body, loc, errors) is not { } o)
            {
                all.AddRange(errors);
                continue;
            }

            var field = key == "external_customer_id" && !o.ContainsKey(key) && o.ContainsKey("customer_external_id") ? "customer_external_id" : key;
            string? value = null;
            if (!o.ContainsKey(field))
            {
                errors.Add("missing", InputRules.Append(loc, key), "Field required", o);
            }
            else
            {
                value = key == "customer_id"
                    ? InputRules.Uuid4(o[field], InputRules.Append(loc, field), errors)
                    : InputRules.String(o[field], InputRules.Append(loc, field), errors);
            }

            var returnUrl = o.TryGetPropertyValue("return_url", out var r) && r is not null ? InputRules.Url(r, InputRules.Append(loc, "return_url"), errors) : null;
            if (errors.Count == 0 && value is not null)
            {
                return new ApiResult(201, key == "customer_id"
                    ? store.CreateCustomerSession(value, null, returnUrl)
                    : store.CreateCustomerSession(null, value, returnUrl));
            }

            all.AddRange(errors);
        }

        throw PolarApiException.Validation("RequestValidationError", all);
    }
}
