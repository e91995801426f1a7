using System.Text.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>/v1/checkouts/</c>.</summary>
internal sealed class CheckoutEndpoints(EmulatorStore store)
{
    private static readonly string[] TrialIntervals = ["day", "week", "month", "year"];
    private static readonly string[] Statuses = ["open", "expired", "confirmed", "succeeded", "failed"];

    /// <summary>The members of the <c>CheckoutCreate</c> union and the key each one requires.</summary>
    private static readonly (string Member, string Key)[] Members =
    [
        ("CheckoutProductsCreate", "products"),
        ("CheckoutProductCreate", "product_id"),
        ("CheckoutPriceCreate", "product_price_id"),
    ];

    public async Task<ApiResult> CreateAsync(ApiRequest request)
    {
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var all = new ValidationErrors();
        foreach (var (member, key) in Members)
        {
            var errors = new ValidationErrors();
            var input = ValidateMember(body, member, key, errors);
            if (errors.Count == 0 && input is not null)
            {
                return new ApiResult(201, store.CreateCheckout(input));
            }

            all.AddRange(errors);
        }

        throw PolarApiException.Validation("RequestValidationError", all);
    }

    /// <summary><c>PATCH /v1/checkouts/{id}</c> (<c>CheckoutUpdate</c>: every field optional, unknown fields ignored).</summary>
    public async Task<ApiResult> UpdateAsync(ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var errors = new ValidationErrors();
        if (InputRules.Object(body, ValidationErrors.Loc("body"), errors) is not { } o)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        JsonArray At(string field) => ValidationErrors.Loc("body", field);
        bool Present(string name) => o.TryGetPropertyValue(name, out var v) && v is not null;
        string? Text(string name, int? max = null) => Present(name) ? InputRules.String(o[name], At(name), errors, max) : null;
        bool? Flag(string name) => Present(name) ? InputRules.Bool(o[name], At(name), errors) : null;

        var productId = Present("product_id") ? InputRules.Uuid4(o["product_id"], At("product_id"), errors) : null;
        var email = Present("customer_email") ? InputRules.Email(o["customer_email"], At("customer_email"), errors) : null;
        var name = Text("customer_name", 256);
        var billingName = Text("customer_billing_name");
        var ip = Text("customer_ip_address");
        var taxId = Text("customer_tax_id");
        var locale = Text("locale");
        var embedOrigin = Text("embed_origin");
        var successUrl = Present("success_url") ? InputRules.Url(o["success_url"], At("success_url"), errors) : null;
        var returnUrl = Present("return_url") ? InputRules.Url(o["return_url"], At("return_url"), errors) : null;
        var metadata = Present("metadata") ? InputRules.Metadata(o["metadata"], At("metadata"), errors) : null;
        var customerMetadata = Present("customer_metadata") ? InputRules.Metadata(o["customer_metadata"], At("customer_metadata"), errors) : null;
        var trialInterval = Present("trial_interval") ? InputRules.Enum(o["trial_interval"], At("trial_interval"), errors, TrialIntervals) : null;
        var trialCount = Present("trial_interval_count") ? InputRules.Int(o["trial_interval_count"], At("trial_interval_count"), errors, 1, 1000) : null;
        var allowTrial = Flag("allow_trial");
        var allowDiscountCodes = Flag("allow_discount_codes");
        var requireBillingAddress = Flag("require_billing_address");
        var isBusiness = Flag("is_business_customer");
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return new ApiResult(200, store.UpdateCheckout(id, productId, email, ch =>
        {
            ch.CustomerEmail = email ?? ch.CustomerEmail;
            ch.CustomerName = name ?? ch.CustomerName;
            ch.CustomerBillingName = billingName ?? ch.CustomerBillingName;
            ch.CustomerIpAddress = ip ?? ch.CustomerIpAddress;
            ch.CustomerTaxId = taxId ?? ch.CustomerTaxId;
            ch.Locale = locale ?? ch.Locale;
            ch.EmbedOrigin = embedOrigin ?? ch.EmbedOrigin;
            ch.SuccessUrl = successUrl?.Replace("%7BCHECKOUT_ID%7D", "{CHECKOUT_ID}", StringComparison.OrdinalIgnoreCase) ?? ch.SuccessUrl;
            ch.ReturnUrl = returnUrl ?? ch.ReturnUrl;
            ch.Metadata = metadata ?? ch.Metadata;
            ch.CustomerMetadata = customerMetadata ?? ch.CustomerMetadata;
            ch.TrialInterval = trialInterval ?? ch.TrialInterval;
            ch.TrialIntervalCount = (int?)trialCount ?? ch.TrialIntervalCount;
            ch.AllowTrial = allowTrial ?? ch.AllowTrial;
            ch.AllowDiscountCodes = allowDiscountCodes ?? ch.AllowDiscountCodes;
            ch.RequireBillingAddress = requireBillingAddress ?? ch.RequireBillingAddress;
            ch.IsBusinessCustomer = isBusiness ?? ch.IsBusinessCustomer;
        }));
    }

    public Task<ApiResult> GetAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetCheckout(Pagination.PathUuid(request, "id"))));

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(request.Query, errors);
        var statuses = new List<string>();
        var values = request.Query["status"];
        for (var i = 0; i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i]), ValidationErrors.Loc("query", "status", i), errors, Statuses) is { } s)
            {
                statuses.Add(s);
            }
        }

        var query = new CheckoutQuery
        {
            OrganizationIds = Pagination.QueryUuids(request.Query, "organization_id", errors),
            CustomerIds = Pagination.QueryUuids(request.Query, "customer_id", errors),
            ExternalCustomerIds = request.Query["external_customer_id"].Select(v => v ?? "").ToList(),
            ProductIds = Pagination.QueryUuids(request.Query, "product_id", errors),
            Statuses = statuses,
            Query = request.Query.TryGetValue("query", out var text) ? text.ToString() : null,
        };
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var (items, total) = store.ListCheckouts(query, page, limit);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    private CheckoutCreateInput? ValidateMember(JsonNode body, string member, string key, ValidationErrors errors)
    {
        var loc = ValidationErrors.Loc("body", member);
        if (InputRules.Object(body, loc, errors) is not { } o)
        {
            return null;
        }

        JsonArray At(string field) => InputRules.Append(loc, field);
        JsonNode? Field(string name) => o.TryGetPropertyValue(name, out var v) ? v : null;
        bool Present(string name) => o.TryGetPropertyValue(name, out var v) && v is not null;

        var productIds = new List<string>();
        if (!o.ContainsKey(key))
        {
            errors.Add("missing", At(key), "Field required", o);
        }
        else if (key == "products")
        {
            if (Field("products") is not JsonArray list)
            {
                errors.Add("list_type", At("products"), "Input should be a valid list", Field("products"));
            }
            else if (list.Count == 0)
            {
                errors.Add("too_short", At("products"), "List should have at least 1 item after validation, not 0", list,
                    new JsonObject { ["field_type"] = "List", ["min_length"] = 1, ["actual_length"] = 0 });
            }
            else
            {
                var before = errors.Count;
                for (var i = 0; i < list.Count; i++)
                {
                    if (InputRules.Uuid4(list[i], InputRules.Append(At("products"), i), errors) is { } id)
                    {
                        productIds.Add(id);
                    }
                }

                // The field validator products_must_be_unique runs once every item is a valid UUID; FastAPI's
                // jsonable_encoder turns the ValueError in ctx into {} (checkout/schemas.py).
                if (errors.Count == before && productIds.Distinct(StringComparer.Ordinal).Count() != productIds.Count)
                {
                    errors.Add("value_error", At("products"), "Value error, Product IDs must be unique.", list, new JsonObject { ["error"] = new JsonObject() });
                }
            }
        }
        else if (InputRules.Uuid4(Field(key), At(key), errors) is { } id)
        {
            if (key == "product_id")
            {
                productIds.Add(id);
            }
            else if (store.ProductIdOfPrice(id) is { } productId)
            {
                productIds.Add(productId);
            }
            else
            {
                throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "product_price_id"), "Price does not exist.", JsonValue.Create(id));
            }
        }

        string? OptionalUuid(string name) => Present(name) ? InputRules.Uuid4(Field(name), At(name), errors) : null;
        string? OptionalString(string name, int? max = null) => Present(name) ? InputRules.String(Field(name), At(name), errors, max) : null;
        string? OptionalUrl(string name) => Present(name) ? InputRules.Url(Field(name), At(name), errors) : null;
        bool OptionalBool(string name, bool fallback) => o.ContainsKey(name) ? InputRules.Bool(Field(name), At(name), errors) ?? fallback : fallback;
        JsonObject OptionalMetadata(string name) => Present(name) ? InputRules.Metadata(Field(name), At(name), errors) ?? [] : [];

        var customerId = OptionalUuid("customer_id");
        OptionalUuid("subscription_id");
        OptionalUuid("discount_id");

        // customer_external_id is an input alias of external_customer_id (AliasChoices).
        var externalName = o.ContainsKey("external_customer_id") ? "external_customer_id" : "customer_external_id";
        var externalCustomerId = OptionalString(externalName);
        var email = Present("customer_email") ? InputRules.Email(Field("customer_email"), At("customer_email"), errors) : null;
        var name = OptionalString("customer_name", 256);
        var successUrl = OptionalUrl("success_url");
        var returnUrl = OptionalUrl("return_url");
        var trialInterval = Present("trial_interval") ? InputRules.Enum(Field("trial_interval"), At("trial_interval"), errors, TrialIntervals) : null;
        var trialCount = Present("trial_interval_count") ? InputRules.Int(Field("trial_interval_count"), At("trial_interval_count"), errors, 1, 1000) : null;
        var input = new CheckoutCreateInput
        {
            ProductIds = productIds,
            CustomerId = customerId,
            ExternalCustomerId = externalCustomerId,
            CustomerEmail = email,
            CustomerName = name,
            CustomerIpAddress = OptionalString("customer_ip_address"),
            CustomerBillingName = OptionalString("customer_billing_name"),
            CustomerTaxId = OptionalString("customer_tax_id"),
            Locale = OptionalString("locale"),
            SuccessUrl = successUrl,
            ReturnUrl = returnUrl,
            EmbedOrigin = OptionalString("embed_origin"),
            AllowTrial = OptionalBool("allow_trial", true),
            TrialInterval = trialInterval,
            TrialIntervalCount = (int?)trialCount,
            AllowDiscountCodes = OptionalBool("allow_discount_codes", true),
            RequireBillingAddress = OptionalBool("require_billing_address", false),
            IsBusinessCustomer = OptionalBool("is_business_customer", false),
            Metadata = OptionalMetadata("metadata"),
            CustomerMetadata = OptionalMetadata("customer_metadata"),
            CustomFieldData = Present("custom_field_data") && Field("custom_field_data") is JsonObject cfd ? (JsonObject)cfd.DeepClone() : [],
        };
        return errors.Count == 0 && productIds.Count > 0 ? input : null;
    }
}
