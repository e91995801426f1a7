using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Json;

/// <summary>
/// Turns the emulator's records into Polar's wire objects, field for field in the order of Polar's
/// pydantic models, including the deprecated
/// fields Polar still serializes. Call under the store's lock.
/// </summary>
internal sealed partial class PolarModels(EmulatorStore store)
{
    private string OrganizationId => store.OrganizationId;

    public static JsonObject Price(ProductRecord p) => new()
    {
        ["created_at"] = PolarJson.Date(p.CreatedAt),
        ["modified_at"] = null,
        ["id"] = p.PriceId,
        ["source"] = "catalog",
        ["amount_type"] = "fixed",
        ["price_currency"] = p.Currency,
        ["tax_behavior"] = null,
        ["is_archived"] = false,
        ["product_id"] = p.Id,
        // The deprecated type and recurring_interval come from the product (ProductPrice.legacy_type).
        ["type"] = p.IsRecurring ? "recurring" : "one_time",
        ["recurring_interval"] = p.RecurringInterval,
        ["price_amount"] = p.PriceAmount,
    };

    /// <summary>The full <c>Product</c> (REST and nested in <c>Subscription</c>).</summary>
    public JsonObject Product(ProductRecord p)
    {
        var o = ProductHead(p);
        o["metadata"] = p.Metadata.DeepClone();
        o["is_deletable"] = false;
        o["prices"] = new JsonArray(Price(p));
        o["benefits"] = new JsonArray([.. p.BenefitIds.Select(id => (JsonNode)Benefit(store.Benefit(id)))]);
        o["medias"] = new JsonArray();
        o["attached_custom_fields"] = new JsonArray();
        return o;
    }

    /// <summary><c>CheckoutProduct</c>: no metadata, public benefits.</summary>
    public JsonObject CheckoutProduct(ProductRecord p)
    {
        var o = ProductHead(p);
        o["prices"] = new JsonArray(Price(p));
        o["benefits"] = new JsonArray([.. p.BenefitIds.Select(store.Benefit).Where(b => b.Visibility == "public").Select(b => (JsonNode)BenefitPublic(b))]);
        o["medias"] = new JsonArray();
        return o;
    }

    /// <summary><c>OrderProduct</c>: metadata first, no prices or benefits.</summary>
    public JsonObject OrderProduct(ProductRecord p) => MetadataFirst(p.Metadata, ProductHead(p));

    /// <summary><c>metadata</c>, then <paramref name="fields"/>: the order the models nested in an <c>Order</c> put them in.</summary>
    private static JsonObject MetadataFirst(JsonObject metadata, JsonObject fields)
    {
        var o = new JsonObject { ["metadata"] = metadata.DeepClone() };
        foreach (var (k, v) in fields)
        {
            o[k] = v?.DeepClone();
        }

        return o;
    }

    private JsonObject ProductHead(ProductRecord p) => new()
    {
        ["id"] = p.Id,
        ["created_at"] = PolarJson.Date(p.CreatedAt),
        ["modified_at"] = null,
        ["trial_interval"] = p.TrialInterval,
        ["trial_interval_count"] = p.TrialIntervalCount,
        ["name"] = p.Name,
        ["description"] = p.Description,
        ["visibility"] = "public",
        ["recurring_interval"] = p.RecurringInterval,
        ["recurring_interval_count"] = p.RecurringIntervalCount,
        ["meter_interval"] = null,
        ["meter_interval_count"] = null,
        ["is_recurring"] = p.IsRecurring,
        ["is_archived"] = false,
        ["organization_id"] = OrganizationId,
    };

    /// <summary><c>Customer</c> (<c>CustomerIndividual</c>), also nested as <c>SubscriptionCustomer</c> and <c>OrderCustomer</c>.</summary>
    public JsonObject Customer(CustomerRecord c) => new()
    {
        ["id"] = c.Id,
        ["created_at"] = PolarJson.Date(c.CreatedAt),
        ["modified_at"] = PolarJson.Date(c.ModifiedAt),
        ["metadata"] = c.Metadata.DeepClone(),
        ["external_id"] = c.ExternalId,
        ["email"] = c.Email,
        ["email_verified"] = false,
        ["type"] = "individual",
        ["name"] = c.Name,
        ["billing_name"] = c.BillingName ?? c.Name,
        ["billing_address"] = PolarJson.Clone(c.BillingAddress),
        ["tax_id"] = null,
        ["locale"] = c.Locale,
        ["organization_id"] = OrganizationId,
        ["default_payment_method_id"] = c.DefaultPaymentMethodId,
        ["deleted_at"] = PolarJson.Date(c.DeletedAt),
        ["first_user_event_at"] = null,
        ["avatar_url"] = AvatarUrl(c.Email),
    };

    /// <summary>The deprecated <c>user</c> object Polar still serializes next to <c>customer</c>.</summary>
    private static JsonObject User(CustomerRecord c) => new()
    {
        ["id"] = c.Id,
        ["email"] = c.Email,
        ["public_name"] = (c.Name ?? c.Email)[..1],
        ["avatar_url"] = AvatarUrl(c.Email),
        ["github_username"] = null,
    };

    private static string AvatarUrl(string email)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant())));
        return $"https://www.gravatar.com/avatar/{hash}?d=404";
    }

    /// <summary><c>CustomerState</c>: the customer plus entitled subscriptions and every granted grant.</summary>
    public JsonObject CustomerState(CustomerRecord c)
    {
        var o = Customer(c);
        var subscriptions = new JsonArray();
        var grants = new JsonArray();
        foreach (var s in store.SubscriptionsOf(c.Id).Where(s => s.IsActive).OrderBy(s => s.CreatedAt))
        {
            var p = store.Product(s.ProductId);
            subscriptions.Add(new JsonObject
            {
                ["id"] = s.Id,
                ["created_at"] = PolarJson.Date(s.CreatedAt),
                ["modified_at"] = PolarJson.Date(s.ModifiedAt),
                ["custom_field_data"] = new JsonObject(),
                ["metadata"] = s.Metadata.DeepClone(),
                ["status"] = s.Status,
                ["amount"] = s.Amount,
                ["currency"] = s.Currency,
                ["recurring_interval"] = s.RecurringInterval,
                ["current_period_start"] = PolarJson.Date(s.CurrentPeriodStart),
                ["current_period_end"] = PolarJson.Date(s.CurrentPeriodEnd),
                ["trial_start"] = PolarJson.Date(s.TrialStart),
                ["trial_end"] = PolarJson.Date(s.TrialEnd),
                ["cancel_at_period_end"] = s.CancelAtPeriodEnd,
                ["canceled_at"] = PolarJson.Date(s.CanceledAt),
                ["started_at"] = PolarJson.Date(s.StartedAt),
                ["ends_at"] = PolarJson.Date(s.EndsAt),
                ["product_id"] = s.ProductId,
                ["discount_id"] = null,
                ["seats"] = null,
                ["units"] = null,
                ["price_id"] = p.PriceId,
                ["meters"] = new JsonArray(),
            });
        }

        foreach (var g in store.GrantedOf(c.Id))
        {
            grants.Add(StateBenefitGrant(g));
        }

        o["active_subscriptions"] = subscriptions;
        o["granted_benefits"] = grants;
        o["active_meters"] = ActiveMeters(c);
        return o;
    }

    /// <summary><c>CustomerSession</c>.</summary>
    public JsonObject CustomerSession(CustomerSessionRecord cs)
    {
        var c = store.Customer(cs.CustomerId);
        var portal = $"{store.BaseUrl}{EmulatorStore.OrganizationSlug}/portal?customer_session_token={Uri.EscapeDataString(cs.Token)}&email={Uri.EscapeDataString(c.Email)}";
        return new JsonObject
        {
            ["created_at"] = PolarJson.Date(cs.CreatedAt),
            ["modified_at"] = null,
            ["id"] = cs.Id,
            ["token"] = cs.Token,
            ["expires_at"] = PolarJson.Date(cs.ExpiresAt),
            ["return_url"] = cs.ReturnUrl,
            ["customer_portal_url"] = portal,
            ["customer_id"] = cs.CustomerId,
            ["customer"] = Customer(c),
        };
    }
}
