using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using KavachPolar.Testing.Api;

namespace KavachPolar.Testing.State;

/// <summary>
/// Orders, their invoices and refunds, as Polar's order and refund services run them
/// (https://github.com/polarsource/polar/blob/main/server/polar/order/service.py, <c>refund/service.py</c>,
/// <c>models/order.py</c>).
/// </summary>
internal sealed partial class EmulatorStore
{
    private readonly Dictionary<string, RefundRecord> _refunds = new(StringComparer.Ordinal);

    /// <summary>How long the worker's <c>order.invoice</c> job takes after <c>POST /v1/orders/{id}/invoice</c>.</summary>
    public TimeSpan InvoiceGenerationDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Creates an order of the subscription's current period (one item) and sends <c>order.created</c>.</summary>
    private OrderRecord CreateOrder(SubscriptionRecord s, string billingReason, long amount, string? checkoutId, string status, DateTimeOffset now)
    {
        var p = Product(s.ProductId);
        return AddOrder(s.CustomerId, p, s.Id, checkoutId, billingReason, status, (JsonObject)s.Metadata.DeepClone(),
            [new OrderItemRecord(Ids.NewUuid(), p.Name, amount, false, p.PriceId, s.CurrentPeriodStart, s.CurrentPeriodEnd)], now);
    }

    /// <summary>
    /// <c>create_from_checkout_one_time</c>: the purchase's order, created paid with the checkout's metadata
    /// (<c>billing_reason</c> <c>purchase</c>, no subscription), then <c>order.created</c>, <c>order.updated</c> and
    /// <c>order.paid</c> in one go, as <c>_on_order_created</c> treats a paid order as coming from pending.
    /// </summary>
    private OrderRecord CreatePurchaseOrder(CheckoutRecord ch, CustomerRecord c, ProductRecord p, DateTimeOffset now)
    {
        var order = AddOrder(c.Id, p, null, ch.Id, "purchase", "paid", (JsonObject)ch.Metadata.DeepClone(),
            [new OrderItemRecord(Ids.NewUuid(), p.Name, p.PriceAmount, false, p.PriceId, null, null)], now);
        MarkOrderPaid(order);
        return order;
    }

    private OrderRecord AddOrder(string customerId, ProductRecord p, string? subscriptionId, string? checkoutId, string billingReason, string status, JsonObject metadata, IReadOnlyList<OrderItemRecord> items, DateTimeOffset now)
    {
        var c = _customers[customerId];
        var order = new OrderRecord
        {
            Id = Ids.NewUuid(),
            CreatedAt = now,
            Status = status,
            Currency = p.Currency,
            BillingReason = billingReason,
            BillingName = c.BillingName ?? c.Name,
            BillingAddress = (JsonObject?)c.BillingAddress?.DeepClone(),
            InvoiceNumber = $"EMULATOR-{++_invoiceCounter:D4}",
            CustomerId = c.Id,
            ProductId = p.Id,
            SubscriptionId = subscriptionId,
            CheckoutId = checkoutId,
            Metadata = metadata,
            Items = items,
        };
        _orders.Add(order.Id, order);
        Emit("order.created", Models.Order(order));
        return order;
    }

    /// <summary>
    /// A product change billed now (<c>proration_behavior</c> <c>invoice</c>): Polar's billing entries credit the
    /// remaining time on the old product and debit it on the new one (<c>subscription/update.py</c>, rounded half to
    /// even as Python's <c>round</c> of a <c>Decimal</c>), and <c>create_subscription_order</c> makes a
    /// <c>subscription_update</c> order of them with the subscription's metadata. A total of zero or less is paid at
    /// once; a positive one is charged, and its <c>order.updated</c> and <c>order.paid</c> follow the subscription's
    /// events. Returns the order to mark paid afterwards, or null when there is nothing to bill or it is paid already.
    /// </summary>
    private OrderRecord? CreateUpdateOrder(SubscriptionRecord s, ProductRecord from, ProductRecord to, DateTimeOffset now)
    {
        var total = (s.CurrentPeriodEnd - s.CurrentPeriodStart).TotalSeconds;
        var remaining = (s.CurrentPeriodEnd - now).TotalSeconds;
        if (total <= 0 || remaining <= 0)
        {
            return null;
        }

        var ratio = (decimal)remaining / (decimal)total;
        var credit = (long)Math.Round(from.PriceAmount * ratio, MidpointRounding.ToEven);
        var debit = (long)Math.Round(to.PriceAmount * ratio, MidpointRounding.ToEven);
        var span = $"From {UsDate(now)} to {UsDate(s.CurrentPeriodEnd)}";
        var items = new List<OrderItemRecord>();
        if (credit != 0)
        {
            items.Add(new OrderItemRecord(Ids.NewUuid(), $"Remaining time on {from.Name} — {span}", -credit, true, from.PriceId, now, s.CurrentPeriodEnd));
        }

        if (debit != 0)
        {
            items.Add(new OrderItemRecord(Ids.NewUuid(), $"{to.Name} — {span}", debit, true, to.PriceId, now, s.CurrentPeriodEnd));
        }

        if (items.Count == 0)
        {
            return null;
        }

        var order = AddOrder(s.CustomerId, to, s.Id, null, "subscription_update", "pending", (JsonObject)s.Metadata.DeepClone(), items, now);
        if (order.Subtotal <= 0)
        {
            MarkOrderPaid(order);
            return null;
        }

        return order;
    }

    /// <summary>babel's <c>format_date(..., locale="en_US")</c> (medium): <c>Jan 5, 2026</c>.</summary>
    private static string UsDate(DateTimeOffset value) => value.UtcDateTime.ToString("MMM d, yyyy", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Grants the product's benefits to a one-time order (grants scoped to <c>order_id</c>, never revoked by time), then
    /// <c>customer.state_changed</c>.
    /// </summary>
    private void GrantOrderBenefits(OrderRecord order)
    {
        var c = _customers[order.CustomerId];
        var scope = _grants.Where(g => g.OrderId == order.Id).ToList();
        foreach (var benefitId in Product(order.ProductId).BenefitIds)
        {
            var existing = scope.FirstOrDefault(g => g.BenefitId == benefitId);
            if (existing is { IsGranted: true } || existing is { ActionRequired: true })
            {
                continue;
            }

            GrantBenefit(c, Benefit(benefitId), null, order.Id);
        }
    }

    public JsonObject GetOrder(string id)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            return Models.Order(RequireOrder(id));
        }
    }

    /// <summary>What is left to refund of an order (0 for an unknown one, which the refund then refuses).</summary>
    public long RefundableAmount(string id)
    {
        lock (_lock)
        {
            return _orders.TryGetValue(id, out var o) ? o.RefundableAmount : 0;
        }
    }

    private OrderRecord RequireOrder(string id) => _orders.TryGetValue(id, out var o) ? o : throw PolarApiException.NotFound();

    /// <summary>
    /// <c>GET /v1/orders/</c> with the filters of the order service's <c>list</c>: each given filter must match.
    /// <c>external_customer_id</c> skips deleted customers; <c>product_billing_type</c> matches the product's
    /// (<c>recurring</c> or <c>one_time</c>); default sort <c>-created_at</c>.
    /// </summary>
    public (JsonArray Items, int Total) ListOrders(OrderQuery q)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            IEnumerable<OrderRecord> rows = _orders.Values;
            if (q.OrganizationIds.Count > 0 && !q.OrganizationIds.Contains(OrganizationId))
            {
                rows = [];
            }

            rows = rows
                .Where(o => q.ProductIds.Count == 0 || q.ProductIds.Contains(o.ProductId))
                .Where(o => q.ProductBillingTypes.Count == 0 || q.ProductBillingTypes.Contains(Product(o.ProductId).IsRecurring ? "recurring" : "one_time"))
                .Where(o => q.CustomerIds.Count == 0 || q.CustomerIds.Contains(o.CustomerId))
                .Where(o => q.ExternalCustomerIds.Count == 0 || (_customers[o.CustomerId] is { DeletedAt: null, ExternalId: { } e } && q.ExternalCustomerIds.Contains(e)))
                .Where(o => q.CheckoutIds.Count == 0 || (o.CheckoutId is { } ch && q.CheckoutIds.Contains(ch)))
                .Where(o => q.SubscriptionIds.Count == 0 || (o.SubscriptionId is { } s && q.SubscriptionIds.Contains(s)))
                .Where(o => q.Statuses.Count == 0 || q.Statuses.Contains(o.Status))
                .Where(o => q.DiscountIds.Count == 0);
            foreach (var group in q.Metadata.GroupBy(m => m.Key, StringComparer.Ordinal))
            {
                var values = group.Select(g => g.Value).ToList();
                rows = rows.Where(o => o.Metadata[group.Key] is JsonValue v && values.Contains(v.ToString()));
            }

            var list = rows.ToList();
            var order = _orders.Values.ToList();
            list.Sort((a, b) =>
            {
                foreach (var key in q.Sorting)
                {
                    var desc = key.StartsWith('-');
                    var c = (desc ? key[1..] : key) switch
                    {
                        "status" => string.CompareOrdinal(a.Status, b.Status),
                        "invoice_number" => string.CompareOrdinal(a.InvoiceNumber, b.InvoiceNumber),
                        "amount" or "net_amount" => a.NetAmount.CompareTo(b.NetAmount),
                        "customer" => string.Compare(_customers[a.CustomerId].Email, _customers[b.CustomerId].Email, StringComparison.OrdinalIgnoreCase),
                        "product" => string.CompareOrdinal(Product(a.ProductId).Name, Product(b.ProductId).Name),
                        "subscription" => string.CompareOrdinal(a.SubscriptionId ?? "", b.SubscriptionId ?? ""),
                        "discount" => 0,
                        _ => a.CreatedAt.CompareTo(b.CreatedAt),
                    };
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return order.IndexOf(a).CompareTo(order.IndexOf(b));
            });
            return (Api.Pagination.Items(list, q.Page, q.Limit, Models.Order), list.Count);
        }
    }

    /// <summary>
    /// <c>trigger_invoice_generation</c>: 409 <c>OrderNotEligibleForInvoice</c> for a draft or void order, 422
    /// <c>MissingInvoiceBillingDetails</c> without a billing name and address; otherwise the <c>order.invoice</c> job is
    /// queued, unless the invoice was generated already with the same billing details (then nothing happens).
    /// </summary>
    public void TriggerInvoice(string id)
    {
        lock (_lock)
        {
            var order = RequireOrder(id);
            if (order.Status is "draft" or "void")
            {
                throw PolarApiException.Polar(409, "OrderNotEligibleForInvoice", $"Order {order.Id} is not eligible for invoice generation (current status: {order.Status}).");
            }

            if (order.BillingName is null || order.BillingAddress is null)
            {
                throw PolarApiException.Polar(422, "MissingInvoiceBillingDetails", "Billing name and address are required to generate an invoice for this order.");
            }

            if (order.InvoicePath is not null && order.InvoiceChecksum == InvoiceChecksum(order))
            {
                return;
            }

            order.InvoiceJobDueAt ??= Now + InvoiceGenerationDelay;
        }
    }

    /// <summary><c>get_order_invoice</c>: 404 <c>InvoiceDoesNotExist</c> until the job has run, then the URL.</summary>
    public JsonObject GetInvoice(string id)
    {
        lock (_lock)
        {
            RunDueMeterJobsLocked();
            var order = RequireOrder(id);
            if (order.InvoicePath is null)
            {
                throw PolarApiException.Polar(404, "InvoiceDoesNotExist", $"No invoice exists for order {order.Id}.");
            }

            return new JsonObject { ["url"] = $"{BaseUrl}{order.InvoicePath}" };
        }
    }

    /// <summary>The order and product behind an invoice URL's path, or null.</summary>
    public (CustomerRecord Customer, OrderRecord Order, ProductRecord Product)? FindInvoice(string path)
    {
        lock (_lock)
        {
            var order = _orders.Values.FirstOrDefault(o => o.InvoicePath == path);
            return order is null ? null : (_customers[order.CustomerId], order, Product(order.ProductId));
        }
    }

    private void ConsiderInvoiceJobs(Action<DateTimeOffset, Action> consider)
    {
        foreach (var order in _orders.Values.Where(o => o.InvoiceJobDueAt is not null).OrderBy(o => o.CreatedAt))
        {
            consider(order.InvoiceJobDueAt!.Value, () => GenerateInvoice(order));
        }
    }

    /// <summary>The <c>order.invoice</c> job: the invoice is stored (<c>is_invoice_generated</c>) and <c>order.updated</c> sent.</summary>
    private void GenerateInvoice(OrderRecord order)
    {
        order.InvoiceJobDueAt = null;
        order.InvoicePath = $"invoices/{order.Id}/{Ids.NewToken("")}/Invoice-{order.InvoiceNumber}.pdf";
        order.InvoiceChecksum = InvoiceChecksum(order);
        order.ModifiedAt = Now;
        Emit("order.updated", Models.Order(order));
    }

    /// <summary><c>compute_order_checksum</c>: over the billing name, address and the customer's locale.</summary>
    private string InvoiceChecksum(OrderRecord order)
    {
        var payload = new JsonArray(order.BillingName, order.BillingAddress?.DeepClone(), _customers[order.CustomerId].Locale).ToJsonString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payload)));
    }

    /// <summary>
    /// <c>POST /v1/refunds/</c> (the refund service's <c>user_create</c> and <c>create</c>) in Polar's order of checks:
    /// an order the organization does not have is 422 at <c>body.order_id</c>; a fully refunded order 403
    /// <c>RefundedAlready</c>; <c>revoke_benefits</c> on a subscription's order 400
    /// <c>RevokeSubscriptionBenefitsProhibited</c>; an amount over the refundable amount 422 at <c>body.amount</c>; an order
    /// without a succeeded payment (pending, void, or nothing charged) 404 <c>RefundUnknownPayment</c>. Then, as with a
    /// card refund Stripe reports succeeded at once: <c>refund.created</c>, <c>order.updated</c> (status and refunded
    /// amounts), <c>order.refunded</c> (partial refunds too), the order's grants revoked when <c>revoke_benefits</c>
    /// (queued at creation), and <c>refund.updated</c> when Stripe's own <c>refund.created</c> comes back.
    /// </summary>
    public JsonObject CreateRefund(RefundInput input)
    {
        lock (_lock)
        {
            if (!_orders.TryGetValue(input.OrderId, out var order))
            {
                var errors = new ValidationErrors();
                errors.Add("value_error", ValidationErrors.Loc("body", "order_id"), "Order not found", JsonValue.Create(input.OrderId));
                throw PolarApiException.Validation("PolarRequestValidationError", errors);
            }

            if (order.Status == "refunded")
            {
                throw PolarApiException.Polar(403, "RefundedAlready", $"Order is already fully refunded: {order.Id}");
            }

            if (input.RevokeBenefits && order.SubscriptionId is not null)
            {
                throw PolarApiException.Polar(400, "RevokeSubscriptionBenefitsProhibited", "Subscription benefits can only be revoked upon cancellation");
            }

            if (input.Amount > order.RefundableAmount)
            {
                throw PolarApiException.BusinessValidation(ValidationErrors.Loc("body", "amount"), "Refund amount exceeds refundable amount", JsonValue.Create(input.Amount));
            }

            if (!order.HasPayment)
            {
                throw PolarApiException.Polar(404, "RefundUnknownPayment", $"Refund issued for unknown order: {order.Id}");
            }

            var now = Now;
            var refund = new RefundRecord
            {
                Id = Ids.NewUuid(),
                CreatedAt = now,
                Status = "succeeded",
                Reason = input.Reason,
                Amount = input.Amount,
                TaxAmount = 0,
                Currency = order.Currency,
                OrderId = order.Id,
                SubscriptionId = order.SubscriptionId,
                CustomerId = order.CustomerId,
                RevokeBenefits = input.RevokeBenefits,
                Comment = input.Comment,
                Metadata = input.Metadata,
            };
            _refunds.Add(refund.Id, refund);
            var json = Models.Refund(refund);
            Emit("refund.created", (JsonObject)json.DeepClone());

            // _on_succeeded: Order.update_refunds, then order.updated and order.refunded.
            order.RefundedAmount += refund.Amount;
            order.RefundedTaxAmount += refund.TaxAmount;
            order.Status = order.RefundedAmount == 0 ? "paid" : order.RefundedAmount >= order.NetAmount ? "refunded" : "partially_refunded";
            order.ModifiedAt = now;
            Emit("order.updated", Models.Order(order));
            Emit("order.refunded", Models.Order(order));

            // _on_created: enqueue_benefits_grants(task="revoke") for the order's product, whatever the refund's status.
            if (refund.RevokeBenefits)
            {
                var revoked = false;
                var benefitIds = Product(order.ProductId).BenefitIds;
                foreach (var g in _grants.Where(g => g.OrderId == order.Id && g.IsGranted && benefitIds.Contains(g.BenefitId)).ToList())
                {
                    revoked |= RevokeGrant(g);
                }

                if (revoked)
                {
                    EmitStateChanged(_customers[order.CustomerId]);
                }
            }

            // Stripe's refund.created webhook finds the refund stored: update_from_stripe sends refund.updated.
            refund.ModifiedAt = Now;
            Emit("refund.updated", Models.Refund(refund));
            return json;
        }
    }

    /// <summary><c>GET /v1/refunds/</c>: filters as the refund service's <c>list</c>, default sort <c>-created_at</c>.</summary>
    public (JsonArray Items, int Total) ListRefunds(RefundQuery q)
    {
        lock (_lock)
        {
            IEnumerable<RefundRecord> rows = _refunds.Values;
            if (q.OrganizationIds.Count > 0 && !q.OrganizationIds.Contains(OrganizationId))
            {
                rows = [];
            }

            var list = rows
                .Where(r => q.Ids.Count == 0 || q.Ids.Contains(r.Id))
                .Where(r => q.OrderIds.Count == 0 || q.OrderIds.Contains(r.OrderId))
                .Where(r => q.SubscriptionIds.Count == 0 || (r.SubscriptionId is { } s && q.SubscriptionIds.Contains(s)))
                .Where(r => q.CustomerIds.Count == 0 || q.CustomerIds.Contains(r.CustomerId))
                .Where(r => q.ExternalCustomerIds.Count == 0 || (_customers[r.CustomerId].ExternalId is { } e && q.ExternalCustomerIds.Contains(e)))
                .Where(r => q.Succeeded is not { } succeeded || (r.Status == "succeeded") == succeeded)
                .ToList();
            var order = _refunds.Values.ToList();
            list.Sort((a, b) =>
            {
                foreach (var key in q.Sorting)
                {
                    var desc = key.StartsWith('-');
                    var c = (desc ? key[1..] : key) == "amount" ? a.Amount.CompareTo(b.Amount) : a.CreatedAt.CompareTo(b.CreatedAt);
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return order.IndexOf(a).CompareTo(order.IndexOf(b));
            });
            return (Api.Pagination.Items(list, q.Page, q.Limit, Models.Refund), list.Count);
        }
    }
}

/// <summary>One of Polar's refunds (<c>models/refund.py</c>).</summary>
internal sealed class RefundRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public required string Status { get; set; }
    public required string Reason { get; init; }
    public required long Amount { get; init; }
    public required long TaxAmount { get; init; }
    public required string Currency { get; init; }
    public required string OrderId { get; init; }
    public string? SubscriptionId { get; init; }
    public required string CustomerId { get; init; }
    public bool RevokeBenefits { get; init; }
    public string? Comment { get; init; }
    public JsonObject Metadata { get; init; } = [];
}

/// <summary>A validated <c>RefundCreate</c>.</summary>
internal sealed record RefundInput(string OrderId, string Reason, long Amount, string? Comment, bool RevokeBenefits, JsonObject Metadata);

/// <summary>The filters of <c>GET /v1/orders/</c>.</summary>
internal sealed class OrderQuery
{
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public IReadOnlyList<string> ProductIds { get; init; } = [];
    public IReadOnlyList<string> ProductBillingTypes { get; init; } = [];
    public IReadOnlyList<string> DiscountIds { get; init; } = [];
    public IReadOnlyList<string> CustomerIds { get; init; } = [];
    public IReadOnlyList<string> ExternalCustomerIds { get; init; } = [];
    public IReadOnlyList<string> CheckoutIds { get; init; } = [];
    public IReadOnlyList<string> SubscriptionIds { get; init; } = [];
    public IReadOnlyList<string> Statuses { get; init; } = [];
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];
    public IReadOnlyList<string> Sorting { get; init; } = ["-created_at"];
    public int Page { get; init; } = 1;
    public int Limit { get; init; } = 10;
}

/// <summary>The filters of <c>GET /v1/refunds/</c>.</summary>
internal sealed class RefundQuery
{
    public IReadOnlyList<string> Ids { get; init; } = [];
    public IReadOnlyList<string> OrganizationIds { get; init; } = [];
    public IReadOnlyList<string> OrderIds { get; init; } = [];
    public IReadOnlyList<string> SubscriptionIds { get; init; } = [];
    public IReadOnlyList<string> CustomerIds { get; init; } = [];
    public IReadOnlyList<string> ExternalCustomerIds { get; init; } = [];
    public bool? Succeeded { get; init; }
    public IReadOnlyList<string> Sorting { get; init; } = ["-created_at"];
    public int Page { get; init; } = 1;
    public int Limit { get; init; } = 10;
}
