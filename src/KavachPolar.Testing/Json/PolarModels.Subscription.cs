using System.Text.Json.Nodes;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Json;

internal sealed partial class PolarModels
{
    /// <summary>The full <c>Subscription</c>, as REST answers and <c>subscription.*</c> events carry it.</summary>
    public JsonObject Subscription(SubscriptionRecord s)
    {
        var p = store.Product(s.ProductId);
        var c = store.Customer(s.CustomerId);
        var o = SubscriptionCore(s, p);
        o["metadata"] = s.Metadata.DeepClone();
        o["custom_field_data"] = new JsonObject();
        o["customer"] = Customer(c);
        o["user_id"] = c.Id;
        o["user"] = User(c);
        o["product"] = Product(p);
        o["discount"] = null;
        o["price"] = Price(p);
        o["prices"] = new JsonArray(Price(p));
        o["meters"] = new JsonArray();
        o["pending_update"] = s.PendingUpdate is not { } pending ? null : new JsonObject
        {
            ["created_at"] = PolarJson.Date(pending.CreatedAt),
            ["modified_at"] = null,
            ["id"] = pending.Id,
            ["applies_at"] = PolarJson.Date(pending.AppliesAt),
            ["product_id"] = pending.ProductId,
            ["seats"] = null,
            ["units"] = null,
        };
        return o;
    }

    /// <summary><c>OrderSubscription</c>: metadata first, no nested objects.</summary>
    public JsonObject OrderSubscription(SubscriptionRecord s)
    {
        var o = MetadataFirst(s.Metadata, SubscriptionCore(s, store.Product(s.ProductId)));
        o["user_id"] = s.CustomerId;
        return o;
    }

    private static JsonObject SubscriptionCore(SubscriptionRecord s, ProductRecord p) => new()
    {
        ["created_at"] = PolarJson.Date(s.CreatedAt),
        ["modified_at"] = PolarJson.Date(s.ModifiedAt),
        ["id"] = s.Id,
        ["amount"] = s.Amount,
        ["currency"] = s.Currency,
        ["recurring_interval"] = s.RecurringInterval,
        ["recurring_interval_count"] = s.RecurringIntervalCount,
        ["status"] = s.Status,
        ["current_period_start"] = PolarJson.Date(s.CurrentPeriodStart),
        ["current_period_end"] = PolarJson.Date(s.CurrentPeriodEnd),
        ["current_meter_period_start"] = null,
        ["current_meter_period_end"] = null,
        ["trial_start"] = PolarJson.Date(s.TrialStart),
        ["trial_end"] = PolarJson.Date(s.TrialEnd),
        ["cancel_at_period_end"] = s.CancelAtPeriodEnd,
        ["canceled_at"] = PolarJson.Date(s.CanceledAt),
        ["started_at"] = PolarJson.Date(s.StartedAt),
        ["ends_at"] = PolarJson.Date(s.EndsAt),
        ["ended_at"] = PolarJson.Date(s.EndedAt),
        ["past_due_at"] = PolarJson.Date(s.PastDueAt),
        ["pause_at_period_end"] = s.PauseAtPeriodEnd,
        ["paused_at"] = PolarJson.Date(s.PausedAt),
        ["resumes_at"] = PolarJson.Date(s.ResumesAt),
        ["customer_id"] = s.CustomerId,
        ["product_id"] = s.ProductId,
        ["discount_id"] = null,
        ["checkout_id"] = s.CheckoutId,
        ["seats"] = null,
        ["units"] = null,
        ["customer_cancellation_reason"] = s.CancellationReason,
        ["customer_cancellation_comment"] = s.CancellationComment,
        ["price_id"] = p.PriceId,
    };

    /// <summary>
    /// <c>Order</c>, as REST answers and <c>order.*</c> events carry it. The emulator charges no tax and applies no
    /// discount or balance, so <c>net_amount</c> is the subtotal and the tax amounts are 0.
    /// </summary>
    public JsonObject Order(OrderRecord order)
    {
        var p = store.Product(order.ProductId);
        var c = store.Customer(order.CustomerId);
        var s = order.SubscriptionId is null ? null : store.Subscription(order.SubscriptionId);
        var net = order.NetAmount;
        var fee = !order.HasPayment ? 0 : (long)Math.Round(net * 0.04m + 40m, MidpointRounding.AwayFromZero);
        var items = new JsonArray();
        foreach (var item in order.Items)
        {
            items.Add(new JsonObject
            {
                ["created_at"] = PolarJson.Date(order.CreatedAt),
                ["modified_at"] = null,
                ["id"] = item.Id,
                ["label"] = item.Label,
                ["amount"] = item.Amount,
                ["tax_amount"] = 0,
                ["proration"] = item.Proration,
                ["product_price_id"] = item.PriceId,
                ["start_timestamp"] = PolarJson.Date(item.Start),
                ["end_timestamp"] = PolarJson.Date(item.End),
            });
        }

        return new JsonObject
        {
            ["id"] = order.Id,
            ["created_at"] = PolarJson.Date(order.CreatedAt),
            ["modified_at"] = PolarJson.Date(order.ModifiedAt),
            ["status"] = order.Status,
            ["paid"] = order.IsPaid,
            ["subtotal_amount"] = order.Subtotal,
            ["discount_amount"] = 0,
            ["net_amount"] = net,
            ["tax_amount"] = 0,
            ["total_amount"] = net,
            ["applied_balance_amount"] = 0,
            // due_amount = max(0, total_amount + applied_balance_amount): it is not reduced by a payment.
            ["due_amount"] = Math.Max(0, net),
            ["refunded_amount"] = order.RefundedAmount,
            ["refunded_tax_amount"] = order.RefundedTaxAmount,
            ["currency"] = order.Currency,
            ["billing_reason"] = order.BillingReason,
            ["billing_name"] = order.BillingName,
            ["billing_address"] = PolarJson.Clone(order.BillingAddress),
            ["invoice_number"] = order.InvoiceNumber,
            ["is_invoice_generated"] = order.InvoicePath is not null,
            ["receipt_number"] = null,
            ["seats"] = null,
            ["units"] = null,
            ["customer_id"] = order.CustomerId,
            ["product_id"] = order.ProductId,
            ["product_price_id"] = p.PriceId,
            ["discount_id"] = null,
            ["subscription_id"] = order.SubscriptionId,
            ["checkout_id"] = order.CheckoutId,
            ["next_payment_attempt_at"] = PolarJson.Date(order.NextPaymentAttemptAt),
            ["metadata"] = order.Metadata.DeepClone(),
            ["custom_field_data"] = new JsonObject(),
            ["platform_fee_amount"] = fee,
            ["platform_fee_currency"] = order.Currency,
            ["customer"] = Customer(c),
            ["user_id"] = c.Id,
            ["user"] = User(c),
            ["product"] = OrderProduct(p),
            ["product_price"] = Price(p),
            ["discount"] = null,
            ["subscription"] = s is null ? null : OrderSubscription(s),
            ["items"] = items,
            ["description"] = p.Name,
            ["amount"] = net,
            ["from_balance_amount"] = 0,
            ["refundable_amount"] = order.RefundableAmount,
            ["refundable_tax_amount"] = Math.Max(0, 0 - order.RefundedTaxAmount),
        };
    }

    /// <summary><c>Refund</c>, as REST answers and <c>refund.*</c> events carry it.</summary>
    public JsonObject Refund(RefundRecord r) => new()
    {
        ["created_at"] = PolarJson.Date(r.CreatedAt),
        ["modified_at"] = PolarJson.Date(r.ModifiedAt),
        ["id"] = r.Id,
        ["metadata"] = r.Metadata.DeepClone(),
        ["status"] = r.Status,
        ["reason"] = r.Reason,
        ["amount"] = r.Amount,
        ["tax_amount"] = r.TaxAmount,
        ["currency"] = r.Currency,
        ["organization_id"] = OrganizationId,
        ["order_id"] = r.OrderId,
        ["subscription_id"] = r.SubscriptionId,
        ["customer_id"] = r.CustomerId,
        ["revoke_benefits"] = r.RevokeBenefits,
        ["dispute"] = null,
    };
}
