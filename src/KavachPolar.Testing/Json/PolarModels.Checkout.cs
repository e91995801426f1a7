using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Json;

internal sealed partial class PolarModels
{
    /// <summary>The <c>Checkout</c> object, for REST answers and <c>checkout.*</c> events.</summary>
    public JsonObject Checkout(CheckoutRecord ch)
    {
        var p = store.Product(ch.ProductId);
        var (trialInterval, trialCount) = ActiveTrial(ch, p);
        var trialEnd = trialInterval is null ? (DateTimeOffset?)null : EmulatorStore.AddInterval(store.Now, trialInterval, trialCount ?? 1);
        var paymentRequired = p.PriceAmount > 0 && trialInterval is null;
        var succeeded = ch.Status == "succeeded";
        var processorMetadata = new JsonObject { ["publishable_key"] = "pk_test_emulator" };
        if (succeeded)
        {
            processorMetadata["intent_status"] = "succeeded";
        }

        var prices = new JsonObject();
        var products = new JsonArray();
        foreach (var id in ch.ProductIds)
        {
            var each = store.Product(id);
            products.Add(CheckoutProduct(each));
            prices[id] = new JsonArray(Price(each));
        }

        return new JsonObject
        {
            ["id"] = ch.Id,
            ["created_at"] = PolarJson.Date(ch.CreatedAt),
            ["modified_at"] = PolarJson.Date(ch.ModifiedAt),
            ["custom_field_data"] = ch.CustomFieldData.DeepClone(),
            ["payment_processor"] = "stripe",
            ["status"] = store.CheckoutStatus(ch),
            ["client_secret"] = ch.ClientSecret,
            ["url"] = store.CheckoutUrl(ch),
            ["expires_at"] = PolarJson.Date(ch.ExpiresAt),
            ["success_url"] = store.SuccessUrl(ch),
            ["return_url"] = ch.ReturnUrl,
            ["embed_origin"] = ch.EmbedOrigin,
            ["amount"] = p.PriceAmount,
            ["seats"] = null,
            ["min_seats"] = null,
            ["max_seats"] = null,
            ["units"] = null,
            ["min_units"] = null,
            ["max_units"] = null,
            ["discount_amount"] = 0,
            ["net_amount"] = p.PriceAmount,
            ["tax_amount"] = ch.TaxAmount,
            ["tax_behavior"] = ch.TaxAmount is null ? null : "exclusive",
            ["total_amount"] = p.PriceAmount + (ch.TaxAmount ?? 0),
            ["currency"] = p.Currency,
            ["allow_trial"] = ch.AllowTrial,
            ["active_trial_interval"] = trialInterval,
            ["active_trial_interval_count"] = trialCount,
            ["trial_end"] = PolarJson.Date(trialEnd),
            ["organization_id"] = OrganizationId,
            ["product_id"] = p.Id,
            ["product_price_id"] = p.PriceId,
            ["discount_id"] = null,
            ["allow_discount_codes"] = ch.AllowDiscountCodes,
            ["require_billing_address"] = ch.RequireBillingAddress,
            ["is_discount_applicable"] = p.PriceAmount > 0,
            ["is_free_product_price"] = p.PriceAmount == 0,
            ["is_payment_required"] = paymentRequired,
            ["is_payment_setup_required"] = true,
            ["is_payment_form_required"] = true,
            ["customer_id"] = ch.CustomerId,
            ["is_business_customer"] = ch.IsBusinessCustomer,
            ["customer_name"] = ch.CustomerName,
            ["customer_email"] = ch.CustomerEmail,
            ["customer_ip_address"] = ch.CustomerIpAddress,
            ["customer_billing_name"] = ch.CustomerBillingName,
            ["customer_billing_address"] = PolarJson.Clone(ch.CustomerBillingAddress),
            ["customer_tax_id"] = ch.CustomerTaxId,
            ["locale"] = ch.Locale,
            ["payment_method_type"] = ch.PaymentMethodType,
            ["payment_processor_metadata"] = processorMetadata,
            ["customer_billing_address_fields"] = AddressFields(JsonValue.Create(true), JsonValue.Create(ch.RequireBillingAddress)),
            ["billing_address_fields"] = AddressFields(JsonValue.Create("required"), JsonValue.Create(ch.RequireBillingAddress ? "required" : "disabled")),
            ["trial_interval"] = ch.TrialInterval,
            ["trial_interval_count"] = ch.TrialIntervalCount,
            ["metadata"] = ch.Metadata.DeepClone(),
            ["external_customer_id"] = ch.ExternalCustomerId,
            ["customer_external_id"] = ch.ExternalCustomerId,
            ["products"] = products,
            ["product"] = CheckoutProduct(p),
            ["product_price"] = Price(p),
            ["prices"] = prices,
            ["discount"] = null,
            ["subscription_id"] = null,
            ["attached_custom_fields"] = new JsonArray(),
            ["customer_metadata"] = ch.CustomerMetadata.DeepClone(),
            ["subtotal_amount"] = p.PriceAmount,
        };
    }

    /// <summary>The trial that applies: the checkout's own, else the product's, unless trials are off.</summary>
    public static (string? Interval, int? Count) ActiveTrial(CheckoutRecord ch, ProductRecord p)
    {
        // A trial applies to subscriptions only: a one-time product has none, whatever the checkout asked for.
        if (!ch.AllowTrial || !p.IsRecurring)
        {
            return (null, null);
        }

        return ch.TrialInterval is not null
            ? (ch.TrialInterval, ch.TrialIntervalCount ?? 1)
            : (p.TrialInterval, p.TrialInterval is null ? null : p.TrialIntervalCount ?? 1);
    }

    private static JsonObject AddressFields(JsonNode country, JsonNode rest) => new()
    {
        ["country"] = country,
        ["state"] = rest.DeepClone(),
        ["city"] = rest.DeepClone(),
        ["postal_code"] = rest.DeepClone(),
        ["line1"] = rest.DeepClone(),
        ["line2"] = rest.DeepClone(),
    };
}
