using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Control;

/// <summary>
/// The emulator's own HTTP controls under <c>/_emulator/</c>, mirroring <see cref="PolarEmulator"/>'s C# API
/// for the standalone tool. Errors answer in Polar's shapes. See <see cref="PolarEmulator.ControlRoutes"/>.
/// </summary>
internal sealed class ControlApi(PolarEmulator emulator)
{
    public async Task HandleAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? "/").Trim('/').Split('/')[1..];
        var method = context.Request.Method;
        try
        {
            JsonNode? result = (method, segments) switch
            {
                ("GET", []) => Info(),
                ("POST", ["time", "advance"]) => await AdvanceAsync(context).ConfigureAwait(false),
                ("POST", ["checkouts", var id, "pay"]) => await PayAsync(context, id).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "cancel"]) => await SubscriptionAsync(id, emulator.CancelSubscriptionAsync(id, context.Request.Query["at_period_end"] != "false")).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "uncancel"]) => await SubscriptionAsync(id, emulator.UncancelSubscriptionAsync(id)).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "revoke"]) => await SubscriptionAsync(id, emulator.RevokeSubscriptionAsync(id)).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "fail-renewal"]) => await SubscriptionAsync(id, emulator.FailRenewalAsync(id)).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "decline-payments"]) => await SubscriptionAsync(id, DeclineAsync(id, context.Request.Query["declined"] != "false")).ConfigureAwait(false),
                ("POST", ["subscriptions", var id, "recover"]) => await SubscriptionAsync(id, emulator.RecoverRenewalAsync(id)).ConfigureAwait(false),
                ("GET", ["events"]) => new JsonArray(emulator.Events.Select(e => (JsonNode)new JsonObject
                {
                    ["id"] = e.EventId,
                    ["type"] = e.Type,
                    ["endpoint_id"] = e.EndpointId,
                    ["timestamp"] = PolarJson.FormatDate(e.Timestamp),
                    ["status"] = e.Status.ToString().ToLowerInvariant(),
                    ["attempts"] = e.Attempts,
                }).ToArray()),
                ("POST", ["events", var id, "redeliver"]) => Redeliver(id),
                ("GET", ["deliveries"]) => new JsonArray(emulator.Deliveries.Select(d => (JsonNode)new JsonObject
                {
                    ["event_id"] = d.EventId,
                    ["event_type"] = d.EventType,
                    ["endpoint_id"] = d.EndpointId,
                    ["attempt"] = d.Attempt,
                    ["status_code"] = d.StatusCode,
                    ["error"] = d.Error,
                    ["webhook_timestamp"] = d.WebhookTimestamp,
                    ["started_at"] = PolarJson.FormatDate(d.StartedAt),
                    ["completed_at"] = PolarJson.FormatDate(d.CompletedAt),
                }).ToArray()),
                ("POST", ["webhook-endpoints"]) => await AddEndpointAsync(context).ConfigureAwait(false),
                ("POST", ["webhook-endpoints", var id, "enable"]) => Enable(id, context.Request.Query["enabled"] != "false"),
                ("POST", ["access-tokens"]) => await CreateTokenAsync(context).ConfigureAwait(false),
                ("POST", ["faults"]) => await AddFaultAsync(context).ConfigureAwait(false),
                ("POST", ["benefit-grants", var id, "link"]) => await LinkAsync(context, id).ConfigureAwait(false),
                ("POST", ["orders", var id, "refund"]) => await RefundAsync(context, id).ConfigureAwait(false),
                _ => null,
            };
            if (result is null)
            {
                await PolarApi.WriteNotFoundRouteAsync(context).ConfigureAwait(false);
                return;
            }

            await PolarApi.WriteJsonAsync(context, 200, result).ConfigureAwait(false);
        }
        catch (PolarEmulatorException e) when (e.ErrorBody is not null)
        {
            await PolarApi.WriteRawJsonAsync(context, e.StatusCode, e.ErrorBody).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentException or JsonException or FormatException or InvalidOperationException)
        {
            await PolarApi.WriteJsonAsync(context, 400, new JsonObject { ["error"] = "BadRequest", ["detail"] = e.Message }).ConfigureAwait(false);
        }
    }

    private JsonObject Info() => new()
    {
        ["base_url"] = emulator.BaseUrl.ToString(),
        ["organization_id"] = emulator.OrganizationId,
        ["now"] = PolarJson.FormatDate(emulator.UtcNow),
        ["products"] = new JsonArray(emulator.Products.Select(p => (JsonNode)new JsonObject
        {
            ["id"] = p.Id,
            ["name"] = p.Name,
            ["price_amount"] = p.PriceAmount,
            ["currency"] = p.Currency,
            ["recurring_interval"] = p.RecurringInterval,
            ["is_recurring"] = p.IsRecurring,
            ["trial_interval"] = p.TrialInterval,
            ["trial_interval_count"] = p.TrialIntervalCount,
        }).ToArray()),
        ["webhook_endpoints"] = new JsonArray(emulator.WebhookEndpoints.Select(e => (JsonNode)Endpoint(e)).ToArray()),
    };

    private static JsonObject Endpoint(EmulatorWebhookEndpoint e) => new()
    {
        ["id"] = e.Id,
        ["url"] = e.Url.ToString(),
        ["secret"] = e.Secret,
        ["signing"] = e.Mode == PolarWebhookSigningMode.Standard ? "standard" : "legacy",
        ["enabled"] = e.Enabled,
    };

    private static async Task<JsonObject> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 or null && context.Request.Headers.TransferEncoding.Count == 0)
        {
            return [];
        }

        var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return node as JsonObject ?? throw new JsonException("The body must be a JSON object.");
    }

    private async Task<JsonNode> AdvanceAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var by = TimeSpan.FromDays(body["days"]?.GetValue<double>() ?? 0) + TimeSpan.FromSeconds(body["seconds"]?.GetValue<double>() ?? 0);
        await emulator.AdvanceTimeAsync(by).ConfigureAwait(false);
        return new JsonObject { ["now"] = PolarJson.FormatDate(emulator.UtcNow) };
    }

    private async Task<JsonNode> PayAsync(HttpContext context, string checkoutId)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var result = await emulator.PayCheckoutAsync(checkoutId, body["email"]?.GetValue<string>(), body["name"]?.GetValue<string>()).ConfigureAwait(false);
        return new JsonObject
        {
            ["checkout_id"] = result.CheckoutId,
            ["customer_id"] = result.CustomerId,
            ["subscription_id"] = result.SubscriptionId,
            ["redirect_url"] = result.RedirectUrl.ToString(),
        };
    }

    private async Task<JsonNode> SubscriptionAsync(string id, Task action)
    {
        await action.ConfigureAwait(false);
        return JsonNode.Parse(emulator.GetSubscriptionJson(id))!;
    }

    private Task DeclineAsync(string id, bool declined)
    {
        emulator.DeclinePayments(id, declined);
        return Task.CompletedTask;
    }

    private JsonObject Redeliver(string id)
    {
        emulator.RedeliverAsync(id).GetAwaiter().GetResult();
        return new JsonObject { ["id"] = id };
    }

    private async Task<JsonNode> AddEndpointAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var url = new Uri(body["url"]?.GetValue<string>() ?? throw new ArgumentException("url is required."));
        var mode = body["signing"]?.GetValue<string>() switch
        {
            null or "legacy" => PolarWebhookSigningMode.Legacy,
            "standard" => PolarWebhookSigningMode.Standard,
            var other => throw new ArgumentException($"signing must be legacy or standard, not {other}."),
        };
        var events = (body["events"] as JsonArray)?.Select(e => e!.GetValue<string>()).ToList();
        return Endpoint(emulator.AddWebhookEndpoint(url, body["secret"]?.GetValue<string>(), mode, events));
    }

    private JsonObject Enable(string id, bool enabled)
    {
        emulator.EnableWebhookEndpoint(id, enabled);
        return Endpoint(emulator.WebhookEndpoints.First(e => e.Id == id));
    }

    private async Task<JsonNode> CreateTokenAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var scopes = (body["scopes"] as JsonArray ?? throw new ArgumentException("scopes is required: a list of Polar scopes.")).Select(s => s!.GetValue<string>()).ToList();
        return new JsonObject { ["token"] = emulator.CreateAccessToken(scopes), ["scopes"] = new JsonArray(scopes.Select(s => (JsonNode)s).ToArray()) };
    }

    private async Task<JsonNode> LinkAsync(HttpContext context, string grantId)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var account = body["account_id"]?.GetValue<string>() ?? throw new ArgumentException("account_id is required: the linked account's id.");
        await emulator.LinkBenefitAccountAsync(grantId, account).ConfigureAwait(false);
        return new JsonObject { ["grant_id"] = grantId, ["account_id"] = account };
    }

    /// <summary>The dashboard's refund: <see cref="PolarEmulator.RefundAsync"/>; answers the refund, or Polar's error.</summary>
    private async Task<JsonNode> RefundAsync(HttpContext context, string orderId)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var refund = await emulator.RefundAsync(orderId, body["amount"]?.GetValue<long>(), body["reason"]?.GetValue<string>() ?? "customer_request",
            body["revoke_benefits"]?.GetValue<bool>() ?? false).ConfigureAwait(false);
        return JsonNode.Parse(refund)!;
    }

    private async Task<JsonNode> AddFaultAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var retryAfter = body["retry_after"]?.GetValue<double>() is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var status = body["status"]?.GetValue<int>() ?? throw new ArgumentException("status is required.");
        emulator.InjectFault(
            new HttpMethod(body["method"]?.GetValue<string>() ?? "GET"),
            body["path_prefix"]?.GetValue<string>() ?? "/v1/",
            status,
            body["count"]?.GetValue<int>() ?? 1,
            retryAfter);
        return new JsonObject { ["status"] = status.ToString(CultureInfo.InvariantCulture) };
    }
}
