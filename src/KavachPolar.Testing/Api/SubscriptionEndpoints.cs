using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary><c>/v1/subscriptions/</c>.</summary>
internal sealed partial class SubscriptionEndpoints(EmulatorStore store)
{
    private static readonly string[] Statuses = ["incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"];
    private static readonly string[] SortKeys = ["customer", "status", "started_at", "current_period_end", "ended_at", "ends_at", "amount", "product", "discount"];
    private static readonly string[] Reasons = ["customer_service", "low_quality", "missing_features", "switched_service", "too_complex", "too_expensive", "unused", "other"];
    private static readonly string[] Prorations = ["invoice", "prorate", "next_period", "reset"];

    /// <summary>The <c>SubscriptionUpdate</c> union members in Polar's order, with their fields; every one forbids extras.</summary>
    private static readonly (string Name, string[] Required, string[] Optional)[] Variants =
    [
        ("SubscriptionUpdateBase", [], ["metadata", "product_id", "proration_behavior", "discount_id", "trial_end"]),
        ("SubscriptionUpdateSeats", ["seats"], ["proration_behavior"]),
        ("SubscriptionUpdateBillingPeriod", ["current_billing_period_end"], []),
        ("SubscriptionCancel", ["cancel_at_period_end"], ["customer_cancellation_reason", "customer_cancellation_comment"]),
        ("SubscriptionRevoke", ["revoke"], ["customer_cancellation_reason", "customer_cancellation_comment"]),
        ("SubscriptionPause", ["pause_at_period_end"], ["resumes_at"]),
        ("SubscriptionResume", ["resume"], []),
        ("SubscriptionUpdateClear", ["pending_update"], []),
    ];

    public Task<ApiResult> ListAsync(ApiRequest request)
    {
        var q = request.Query;
        var errors = new ValidationErrors();
        var (page, limit) = Pagination.Parse(q, errors);
        var statuses = new List<string>();
        for (var i = 0; q.TryGetValue("status", out var values) && i < values.Count; i++)
        {
            if (InputRules.Enum(JsonValue.Create(values[i]), ValidationErrors.Loc("query", "status", i), errors, Statuses) is { } s)
            {
                statuses.Add(s);
            }
        }

        var sorting = new List<string>();
        for (var i = 0; q.TryGetValue("sorting", out var values) && i < values.Count; i++)
        {
            var value = values[i] ?? "";
            var expected = SortKeys.SelectMany(k => new[] { k, "-" + k }).ToList();
            if (InputRules.Enum(JsonValue.Create(value), ValidationErrors.Loc("query", "sorting", i), errors, expected) is { } s)
            {
                sorting.Add(s);
            }
        }

        var metadata = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in q)
        {
            if (MetadataKey().Match(key) is { Success: true } m)
            {
                metadata.AddRange(values.Select(v => KeyValuePair.Create(m.Groups[1].Value, v ?? "")));
            }
        }

        var query = new SubscriptionQuery
        {
            OrganizationIds = Pagination.QueryUuids(q, "organization_id", errors),
            CustomerIds = Pagination.QueryUuids(q, "customer_id", errors),
            ExternalCustomerIds = q["external_customer_id"].Select(v => v ?? "").ToList(),
            ProductIds = Pagination.QueryUuids(q, "product_id", errors),
            Statuses = statuses,
            Active = Pagination.QueryBool(q, "active", errors),
            CancelAtPeriodEnd = Pagination.QueryBool(q, "cancel_at_period_end", errors),
            Metadata = metadata,
            Sorting = sorting.Count > 0 ? sorting : ["-started_at"],
            Page = page,
            Limit = limit,
        };
        if (errors.Count > 0)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var (items, total) = store.ListSubscriptions(query);
        return Task.FromResult(new ApiResult(200, Pagination.Page(items, total, limit)));
    }

    public Task<ApiResult> GetAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.GetSubscription(Pagination.PathUuid(request, "id"))));

    public Task<ApiResult> RevokeAsync(ApiRequest request) =>
        Task.FromResult(new ApiResult(200, store.RevokeSubscription(Pagination.PathUuid(request, "id"))));

    public async Task<ApiResult> UpdateAsync(ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        var body = await request.ReadJsonBodyAsync().ConfigureAwait(false);
        var all = new ValidationErrors();
        foreach (var variant in Variants)
        {
            var errors = new ValidationErrors();
            var update = Validate(body, variant.Name, variant.Required, variant.Optional, errors);
            if (errors.Count == 0 && update is not null)
            {
                return new ApiResult(200, store.UpdateSubscription(id, update));
            }

            all.AddRange(errors);
        }

        throw PolarApiException.Validation("RequestValidationError", all);
    }

    private static SubscriptionUpdate? Validate(JsonNode body, string name, string[] required, string[] optional, ValidationErrors errors)
    {
        var loc = ValidationErrors.Loc("body", name);
        if (InputRules.Object(body, loc, errors) is not { } o)
        {
            return null;
        }

        JsonArray At(string field) => InputRules.Append(loc, field);
        var update = new SubscriptionUpdate(name);
        foreach (var field in required.Concat(optional))
        {
            if (!o.TryGetPropertyValue(field, out var value))
            {
                if (required.Contains(field))
                {
                    errors.Add("missing", At(field), "Field required", o);
                }

                continue;
            }

            switch (field)
            {
                case "cancel_at_period_end":
                    update = update with { CancelAtPeriodEnd = InputRules.Bool(value, At(field), errors) ?? false };
                    break;
                case "pause_at_period_end":
                    update = update with { PauseAtPeriodEnd = InputRules.Bool(value, At(field), errors) ?? false };
                    break;
                case "revoke" or "resume":
                    if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.True)
                    {
                        errors.Add("literal_error", At(field), "Input should be True", value, new JsonObject { ["expected"] = "True" });
                    }

                    break;
                case "pending_update":
                    if (value is not null)
                    {
                        errors.Add("none_required", At(field), "Input should be None", value);
                    }

                    break;
                case "customer_cancellation_reason":
                    update = update with { Reason = value is null ? null : InputRules.Enum(value, At(field), errors, Reasons) };
                    break;
                case "customer_cancellation_comment":
                    update = update with { Comment = value is null ? null : InputRules.String(value, At(field), errors) };
                    break;
                case "metadata":
                    update = update with { Metadata = InputRules.Metadata(value, At(field), errors) };
                    break;
                case "product_id":
                    update = update with { ProductId = InputRules.Uuid4(value, At(field), errors) };
                    break;
                case "discount_id":
                    if (value is not null)
                    {
                        InputRules.Uuid4(value, At(field), errors);
                    }

                    update = update with { Variant = "SubscriptionUpdateDiscount" };
                    break;
                case "proration_behavior":
                    update = update with { ProrationBehavior = InputRules.Enum(value, At(field), errors, Prorations) };
                    break;
                case "seats":
                    InputRules.Int(value, At(field), errors, 1);
                    break;
                case "trial_end" or "current_billing_period_end" or "resumes_at":
                    if (value is not null && (value.GetValueKind() != JsonValueKind.String || (!DateTimeOffset.TryParse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _) && value.GetValue<string>() != "now")))
                    {
                        errors.Add("datetime_parsing", At(field), "Input should be a valid datetime", value);
                    }

                    if (field == "trial_end")
                    {
                        update = update with { Variant = "SubscriptionUpdateTrial" };
                    }
                    else if (field == "resumes_at" && value is not null && DateTimeOffset.TryParse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out var resumesAt))
                    {
                        update = update with { ResumesAt = resumesAt.ToUniversalTime() };
                    }

                    break;
            }
        }

        foreach (var (key, value) in o)
        {
            if (!required.Contains(key) && !optional.Contains(key))
            {
                errors.Add("extra_forbidden", At(key), "Extra inputs are not permitted", value);
            }
        }

        return update;
    }

    [GeneratedRegex(@"^metadata\[(.+)\]$", RegexOptions.CultureInvariant)]
    private static partial Regex MetadataKey();
}
