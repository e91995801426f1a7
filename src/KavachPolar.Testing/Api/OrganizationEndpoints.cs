using System.Text.Json.Nodes;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Api;

/// <summary>
/// <c>GET /v1/organizations/{id}</c> (<c>server/polar/organization/endpoints.py</c>, guarded by <c>AuthorizeOrgAccess</c>:
/// <c>organizations:read</c> or <c>organizations:write</c>). An organization access token reaches its own organization
/// only; any other id, existing or not, is 404 <c>ResourceNotFound</c>, so the answer never tells whether it exists.
/// </summary>
internal static class OrganizationEndpoints
{
    public static ApiResult Get(EmulatorStore store, ApiRequest request)
    {
        var id = Pagination.PathUuid(request, "id");
        return string.Equals(id, store.OrganizationId, StringComparison.Ordinal)
            ? new ApiResult(200, store.Read(Model))
            : throw PolarApiException.NotFound();
    }

    /// <summary><c>Organization</c>, in the order of Polar's schema, with the defaults of a new organization.</summary>
    private static JsonObject Model(EmulatorStore s) => new()
    {
        ["created_at"] = PolarJson.Date(s.CreatedAt),
        ["modified_at"] = null,
        ["id"] = s.OrganizationId,
        ["name"] = "Emulator",
        ["slug"] = EmulatorStore.OrganizationSlug,
        ["avatar_url"] = null,
        ["proration_behavior"] = "prorate",
        ["allow_customer_updates"] = true,
        ["email"] = null,
        ["website"] = null,
        ["socials"] = new JsonArray(),
        ["status"] = "active",
        ["details_submitted_at"] = null,
        ["onboarding_resubmission_requested_at"] = null,
        ["sso_enforced"] = false,
        ["default_presentment_currency"] = "usd",
        ["default_tax_behavior"] = "location",
        ["feature_settings"] = new JsonObject
        {
            ["issue_funding_enabled"] = false,
            ["seat_based_pricing_enabled"] = false,
            ["wallets_enabled"] = false,
            ["member_model_enabled"] = true,
            ["checkout_localization_enabled"] = false,
            ["overview_metrics"] = null,
            ["reset_proration_behavior_enabled"] = false,
            ["off_session_charges_enabled"] = false,
            ["meter_cycling_enabled"] = false,
            ["slack_benefit_enabled"] = false,
            ["preview_access_enabled"] = false,
            ["disputes_enabled"] = false,
            ["sso_enabled"] = false,
            ["dispute_auto_accept_enabled"] = false,
            ["compass_enabled"] = false,
            ["merchant_migration_enabled"] = false,
        },
        ["subscription_settings"] = new JsonObject
        {
            ["allow_multiple_subscriptions"] = s.AllowMultipleSubscriptions,
            ["proration_behavior"] = "prorate",
            ["benefit_revocation_grace_period"] = 0,
            ["prevent_trial_abuse"] = false,
            ["allow_customer_updates"] = true,
        },
        ["customer_email_settings"] = new JsonObject
        {
            ["order_confirmation"] = true,
            ["payment_method_expiration_reminder"] = true,
            ["subscription_cancellation"] = true,
            ["subscription_confirmation"] = true,
            ["subscription_cycled"] = true,
            ["subscription_cycled_after_trial"] = true,
            ["subscription_past_due"] = true,
            ["subscription_paused"] = true,
            ["subscription_resumed"] = true,
            ["subscription_renewal_reminder"] = true,
            ["subscription_revoked"] = true,
            ["subscription_trial_conversion_reminder"] = true,
            ["subscription_uncanceled"] = true,
            ["subscription_updated"] = true,
        },
        ["customer_portal_settings"] = new JsonObject
        {
            ["usage"] = new JsonObject { ["show"] = true },
            ["subscription"] = new JsonObject { ["update_seats"] = true, ["update_plan"] = true },
        },
        ["dispute_settings"] = new JsonObject { ["auto_accept_below_amount"] = null },
        ["embed_hosts"] = new JsonArray(),
        ["embed_hosts_enforced"] = false,
        ["country"] = null,
        ["account_id"] = null,
        ["payout_account_id"] = null,
        ["capabilities"] = new JsonObject
        {
            ["checkout_payments"] = true,
            ["subscription_renewals"] = true,
            ["payouts"] = false,
            ["refunds"] = true,
            ["api_access"] = true,
            ["dashboard_access"] = true,
        },
    };
}
