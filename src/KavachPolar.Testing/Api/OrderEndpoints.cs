using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.State;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// <c>/v1/orders/</c> and <c>/v1/refunds/</c> (https://github.com/polarsource/polar/blob/main/server/polar/order/endpoints.py
/// and <c>refund/endpoints.py</c>).
/// </summary>
internal sealed partial class OrderEndpoints(EmulatorStore store)
{
    private static readonly string[] Statuses = ["draft", "pending", "paid", "refunded", "partially_refunded", "void"];
    private static readonly string[] BillingTypes = ["one_time", "recurring"];
    private static readonly string[] OrderSortKeys = ["created_at", "status", "invoice_number", "amount", "net_amount", "customer", "product", "discount", "subscription"];
    private static readonly string[] RefundSortKeys = ["created_at", "amount"];

    /// <summary>
    /// <c>ManualRefundReason</c>: a <c>Literal</c> of <c>RefundReason</c> members (<c>dispute_prevention</c> is for Polar's
    /// own refunds), so pydantic's <c>literal_error</c> lists the members' reprs.
    /// </summary>
    private static readonly string[] Reasons = ["duplicate", "fraudulent", "customer_request", "service_disruption", "satisfaction_guarantee", "other"];

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var q = request.Query;
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(q, errors);
        var query = new OrderQuery
        {
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            ProductIds = Pagination.QueryUuids(q, "product_id", errors),
            ProductBillingTypes = Enums(q, "product_billing_type", BillingTypes, errors),
            DiscountIds = Pagination.QueryUuids(q, "discount_id", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            ExternalCustomerIds = q["external_customer_id"].Select(v => v ?? "").ToList(),
            CheckoutIds = Pagination.QueryUuids(q, "checkout_id", errors),
            SubscriptionIds = Pagination.QueryUuids(q, "subscription_id", errors),
            Statuses = Enums(q, "status", Statuses, errors),
            Metadata = Metadata(q),
            Sorting = Sorting(q, OrderSortKeys, errors),
            Page = page,
            Limit = limit,
        };
        Throw(errors);
        var (items, total) = store.ListOrders(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetOrder(Pagination.PathUuid(request, "id"))));

    /// <summary><c>POST /v1/orders/{id}/invoice</c>: 202 with no body; the invoice is generated later.</summary>
    public Task<ApiResult> GenerateInvoiceAsync(ApiRequest request)
    {
        store.TriggerInvoice(Pagination.PathUuid(request, "id"));
        return Task.FromResult(new ApiResult(202, null, NullBody: true));
    }

    public Task<ApiResult> GetInvoiceAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetInvoice(Pagination.PathUuid(request, "id"))));

    /// <summary>
    /// <c>POST /v1/refunds/</c>: <c>RefundCreate</c> (extra fields ignored), then the refund service's checks
    /// (<see cref="EmulatorStore.CreateRefund"/>).
    /// </summary>
    public async Task<ApiResult> CreateRefundAsync(ApiRequest request)
    {
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var errors = new ValidationErrors();
        if (InputRules.Object(body, ValidationErrors.Loc("body"), errors) is not { } o)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var input = ValidateRefund(o, errors);
        if (errors.Count > 0 || input is null)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        return new ApiResult(201, store.CreateRefund(input));
    }

    /// <summary>Validates a <c>RefundCreate</c> body, field by field in the schema's order (metadata first).</summary>
    internal static RefundInput? ValidateRefund(JsonObject o, ValidationErrors errors)
    {
        static JsonArray At(string field) => ValidationErrors.Loc("body", field);
        bool Present(string name) => o.TryGetPropertyValue(name, out var v) && v is not null;
        var metadata = o.ContainsKey("metadata") ? InputRules.Metadata(o["metadata"], At("metadata"), errors) : [];
        string? orderId = null;
        string? reason = null;
        long? amount = null;
        if (!o.ContainsKey("order_id"))
        {
            errors.Add("missing", At("order_id"), "Field required", o);
        }
        else
        {
            orderId = InputRules.Uuid4(o["order_id"], At("order_id"), errors);
        }

        if (!o.ContainsKey("reason"))
        {
            errors.Add("missing", At("reason"), "Field required", o);
        }
        else if (o["reason"] is JsonValue r && r.GetValueKind() == System.Text.Json.JsonValueKind.String && Reasons.Contains(r.GetValue<string>()))
        {
            reason = r.GetValue<string>();
        }
        else
        {
            var expected = InputRules.ExpectedList([.. Reasons.Select(x => $"<RefundReason.{x}: '{x}'>")]).Replace("'<", "<", StringComparison.Ordinal).Replace(">'", ">", StringComparison.Ordinal);
            errors.Add("literal_error", At("reason"), "Input should be " + expected, o["reason"], new JsonObject { ["expected"] = expected });
        }

        if (!o.ContainsKey("amount"))
        {
            errors.Add("missing", At("amount"), "Field required", o);
        }
        else if (InputRules.Int(o["amount"], At("amount"), errors) is { } n)
        {
            if (n <= 0)
            {
                errors.Add("greater_than", At("amount"), "Input should be greater than 0", o["amount"], new JsonObject { ["gt"] = 0 });
            }
            else
            {
                amount = n;
            }
        }

        var comment = Present("comment") ? InputRules.String(o["comment"], At("comment"), errors) : null;
        var revoke = Present("revoke_benefits") && (InputRules.Bool(o["revoke_benefits"], At("revoke_benefits"), errors) ?? false);
        if (o.TryGetPropertyValue("revoke_benefits", out var revokeNode) && revokeNode is null)
        {
            errors.Add("bool_type", At("revoke_benefits"), "Input should be a valid boolean", null);
        }

        return orderId is null || reason is null || amount is null || metadata is null ? null : new RefundInput(orderId, reason, amount.Value, comment, revoke, metadata);
    }

    public Task<ApiResult> ListRefundsAsync(ApiRequest request)
    {
        var q = request.Query;
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(q, errors);
        var query = new RefundQuery
        {
            Ids = Pagination.QueryUuids(q, "id", errors),
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            OrderIds = Pagination.QueryUuids(q, "order_id", errors),
            SubscriptionIds = Pagination.QueryUuids(q, "subscription_id", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            ExternalCustomerIds = q["external_customer_id"].Select(v => v ?? "").ToList(),
            Succeeded = Pagination.QueryBool(q, "succeeded", errors),
            Sorting = Sorting(q, RefundSortKeys, errors),
            Page = page,
            Limit = limit,
        };
        Throw(errors);
        var (items, total) = store.ListRefunds(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    private static List<string> Enums(IQueryCollection q, string name, string[] allowed, ValidationErrors errors)
    {
        var result = new List<string>();
        for (var i = 0; q.TryGetValue(name, out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i] ?? ""), ValidationErrors.Loc("query", name, i), errors, allowed) is { } s)
            {
                result.Add(s);
            }
        }

        return result;
    }

    private static List<KeyValuePair<string, string>> Metadata(IQueryCollection q)
    {
        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in q)
        {
            if (MetadataKey().Match(key) is { Success: true } m)
            {
                metadata.AddRange(values.Select(v => KeyValuePair.Create(m.Groups[1].Value, v ?? "")));
            }
        }

        return metadata;
    }

    private static List<string> Sorting(IQueryCollection q, string[] keys, ValidationErrors errors)
    {
        var expected = keys.SelectMany(k => new[] { k, "-" + k }).ToList();
        var sorting = new List<string>();
        for (var i = 0; q.TryGetValue("sorting", out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i] ?? ""), ValidationErrors.Loc("query", "sorting", i), errors, expected) is { } s)
            {
                sorting.Add(s);
            }
        }

        return sorting.Count > 0 ? sorting : ["-created_at"];
    }

    private static void Throw(ValidationErrors errors)
    {
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }
    }

    [GeneratedRegex(@"^metadata\[(.+)\]$", RegexOptions.CultureInvariant)]
    private static partial Regex MetadataKey();
}
