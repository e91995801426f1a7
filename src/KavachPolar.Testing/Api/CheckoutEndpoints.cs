using System.Text.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>/v1/checkouts/</c> (REFERENCE §2).</summary>
internal sealed class CheckoutEndpoints(EmulatorStore store)
{
    private static readonly string[] TrialIntervals = ["day", "week", "month", "year"];

    /// <summary>The members of the <c>CheckoutCreate</c> union and the key each one requires (REFERENCE §2.2).</summary>
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

    public Task<ApiResult> GetAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetCheckout(Pagination.PathUuid(request, "id"))));

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(request.Query, errors);
        var customerIds = Pagination.QueryUuids(request.Query, "customer_id", errors);
        var productIds = Pagination.QueryUuids(request.Query, "product_id", errors);
        var statuses = request.Query["status"].Select(s => s ?? "").ToList();
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var (items, total) = store.ListCheckouts(customerIds, productIds, statuses, page, limit);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    private CheckoutCreateInput? ValidateMember(JsonNode body, string member, string key, ValidationErrors errors)
    {
        var loc = ValidationErrors.Loc("body", member);
        if (body is not JsonObject o)
        {
            errors.Add("model_attributes_type", loc, "Input should be a valid dictionary or object to extract fields from", body);
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
                for (var i = 0; i < list.Count; i++)
                {
                    if (InputRules.Uuid4(list[i], InputRules.Append(At("products"), i), errors) is { } id)
                    {
                        productIds.Add(id);
                    }
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
