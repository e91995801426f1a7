using System.Globalization;
using System.Net;
using System.Text;
using KavachPolar.Testing.State;

namespace KavachPolar.Testing.Checkout;

/// <summary>
/// The HTML of the hosted customer portal and its invoice page, in the checkout page's style: self-contained, plain
/// forms that work without JavaScript, and stable ids for browser tests (<c>#portal</c>, <c>#return</c>, <c>#error</c>,
/// <c>#subscription-{id}</c> with <c>data-status</c> and <c>data-cancel-at-period-end</c>, <c>.sub-when</c>,
/// <c>.cancel-subscription</c>, <c>.uncancel-subscription</c>, <c>#orders</c>, <c>.invoice</c>; on the invoice page
/// <c>#invoice-number</c>, <c>#invoice-total</c>, <c>#back-to-portal</c>). Dates read like the sample's:
/// <c>5 May 2026</c>, in UTC.
/// </summary>
internal static class PortalPage
{
    /// <summary>Polar's cancellation reasons with the labels of its portal's cancellation dialog.</summary>
    private static readonly (string Value, string Label)[] Reasons =
    [
        ("unused", "Not using it enough"),
        ("too_expensive", "Too expensive"),
        ("missing_features", "Missing features"),
        ("switched_service", "Switched to another service"),
        ("customer_service", "Customer service"),
        ("low_quality", "Not satisfied with the quality"),
        ("too_complex", "Too complicated"),
        ("other", "Other (please share below)"),
    ];

    private const string Style = """
        main.portal{display:block;max-width:760px;margin:32px auto;padding:32px}
        @media(max-width:720px){main.portal{margin:0;padding:20px}}
        .portal-head{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;margin-bottom:20px}
        .portal-head .badge{background:#eef0f4;color:#5b606b;margin:0}.portal h1{font-size:24px;margin:0 0 4px}.portal h2{font-size:17px;margin:28px 0 12px}
        .muted{color:#5b606b}.sub{border:1px solid #e2e4e9;border-radius:12px;padding:18px 20px;margin-bottom:14px}
        .sub-top{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline;justify-content:space-between}.sub h3{margin:0;font-size:18px}
        .status{font-size:12px;font-weight:600;border-radius:99px;padding:2px 10px;background:#e6f6ee;color:#136c3e}.status.ended{background:#eef0f4;color:#5b606b}
        .status.ending{background:#fff4dc;color:#7a4c00}.sub p{margin:6px 0}
        .portal button{width:auto;padding:9px 16px;font-size:14px}.portal button.danger{background:#fff;color:#b42318;border:1px solid #f1b8b2}
        .portal button.danger:hover{background:#fdecea}details summary{cursor:pointer;color:#b42318;font-weight:600;font-size:14px;margin-top:10px}
        fieldset{border:0;padding:0;margin:12px 0}legend{font-weight:600;font-size:14px;margin-bottom:6px}
        .reason{display:flex;gap:8px;align-items:center;font-weight:400;font-size:14px;margin:4px 0}.reason input{width:auto;margin:0}
        textarea{width:100%;min-height:70px;font:inherit;font-size:14px;padding:8px 10px;border:1px solid #d5d8de;border-radius:8px;margin:4px 0 12px}
        table{width:100%;border-collapse:collapse;font-size:14px}th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #eceef2;vertical-align:top}
        th{color:#5b606b;font-weight:600;font-size:13px}td.amount,th.amount{text-align:right;white-space:nowrap}
        """;

    public static string Render(PortalView view, string token, string? error)
    {
        var html = Head("Customer portal · Emulator");
        html.Append("<main class=\"portal\" id=\"portal\" data-customer-id=\"").Append(E(view.Customer.Id)).Append("\"><div class=\"portal-head\">");
        if (view.ReturnUrl is not null)
        {
            // Polar's portal shows "Back to {organization name}" when the session has a return_url.
            html.Append("<a id=\"return\" href=\"").Append(E(view.ReturnUrl)).Append("\">← Back to Emulator</a>");
        }

        html.Append("<span class=\"badge\">Polar emulator · test mode</span></div>");
        html.Append("<h1 id=\"title\">Customer portal</h1><p class=\"muted\" id=\"customer-email\">").Append(E(view.Customer.Email)).Append("</p>");
        if (error is not null)
        {
            html.Append("<div class=\"error\" id=\"error\" role=\"alert\">").Append(E(error)).Append("</div>");
        }

        html.Append("<h2>Subscriptions</h2>");
        if (view.Subscriptions.Count == 0)
        {
            html.Append("<p class=\"muted\" id=\"no-subscriptions\">No subscriptions.</p>");
        }

        foreach (var (s, p) in view.Subscriptions)
        {
            Subscription(html, s, p, token);
        }

        html.Append("<h2>Orders</h2>");
        if (view.Orders.Count == 0)
        {
            html.Append("<p class=\"muted\" id=\"no-orders\">No orders yet.</p>");
        }
        else
        {
            html.Append("<table id=\"orders\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Product</th><th scope=\"col\" class=\"amount\">Amount</th><th scope=\"col\">Invoice</th></tr></thead><tbody>");
            foreach (var (o, p) in view.Orders)
            {
                html.Append("<tr data-order-id=\"").Append(E(o.Id)).Append("\" data-status=\"").Append(E(o.Status)).Append("\"><td>").Append(Date(o.CreatedAt))
                    .Append("</td><td>").Append(E(p.Name)).Append("</td><td class=\"amount\">").Append(E(CheckoutPage.FormatPrice(o.Subtotal, o.Currency))).Append("</td><td>");
                if (o.Status is "paid" or "refunded" or "partially_refunded")
                {
                    html.Append("<a class=\"invoice\" href=\"/").Append(EmulatorStore.OrganizationSlug).Append("/portal/orders/").Append(E(o.Id))
                        .Append("/invoice?customer_session_token=").Append(E(Uri.EscapeDataString(token))).Append("\">").Append(E(o.InvoiceNumber)).Append("</a>");
                }
                else
                {
                    html.Append("<span class=\"muted\">").Append(E(o.Status)).Append("</span>");
                }

                html.Append("</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("</main></body></html>");
        return html.ToString();
    }

    /// <summary>The invoice page; with no <paramref name="token"/> (the invoice URL of the API), no link back to the portal.</summary>
    public static string RenderInvoice(CustomerRecord customer, OrderRecord order, ProductRecord product, string? token)
    {
        var html = Head("Invoice " + order.InvoiceNumber);
        var total = E(CheckoutPage.FormatPrice(order.Subtotal, order.Currency));
        html.Append("<main class=\"portal\" id=\"invoice\" data-order-id=\"").Append(E(order.Id)).Append("\"><div class=\"portal-head\">");
        if (token is not null)
        {
            html.Append("<a id=\"back-to-portal\" href=\"/").Append(EmulatorStore.OrganizationSlug).Append("/portal?customer_session_token=").Append(E(Uri.EscapeDataString(token)))
                .Append("\">← Customer portal</a>");
        }

        html.Append("<span class=\"badge\">Polar emulator · test mode</span></div>");
        html.Append("<h1 id=\"invoice-number\">Invoice ").Append(E(order.InvoiceNumber)).Append("</h1>");
        html.Append("<p class=\"muted\">Issued ").Append(Date(order.CreatedAt)).Append(" by Emulator · ").Append(E(order.Status)).Append("</p>");
        html.Append("<p>Billed to <strong>").Append(E(order.BillingName ?? customer.Name ?? customer.Email)).Append("</strong><br>").Append(E(customer.Email)).Append("</p>");
        html.Append("<table><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Period</th><th scope=\"col\" class=\"amount\">Amount</th></tr></thead><tbody>");
        foreach (var item in order.Items)
        {
            html.Append("<tr><td>").Append(E(item.Proration ? item.Label : product.Name)).Append("</td><td>")
                .Append(item.Start is { } start && item.End is { } end ? Date(start) + " – " + Date(end) : "One-time purchase")
                .Append("</td><td class=\"amount\">").Append(E(CheckoutPage.FormatPrice(item.Amount, order.Currency))).Append("</td></tr>");
        }

        html.Append("</tbody><tfoot><tr><th scope=\"row\" colspan=\"2\">Total</th><td class=\"amount\" id=\"invoice-total\">")
            .Append(total).Append("</td></tr></tfoot></table>");
        html.Append("</main></body></html>");
        return html.ToString();
    }

    private static void Subscription(StringBuilder html, SubscriptionRecord s, ProductRecord p, string token)
    {
        var ended = s.EndedAt is not null || s.IsRevoked;
        var ending = !ended && s.CancelAtPeriodEnd;
        html.Append("<article class=\"sub\" id=\"subscription-").Append(E(s.Id)).Append("\" data-status=\"").Append(E(s.Status))
            .Append("\" data-cancel-at-period-end=\"").Append(s.CancelAtPeriodEnd ? "true" : "false").Append("\">");
        html.Append("<div class=\"sub-top\"><h3 class=\"sub-product\">").Append(E(p.Name)).Append("</h3><span class=\"status")
            .Append(ended ? " ended" : ending ? " ending" : "").Append("\">").Append(E(s.Status)).Append("</span></div>");
        var interval = s.RecurringIntervalCount == 1 ? s.RecurringInterval : $"{s.RecurringIntervalCount} {s.RecurringInterval}s";
        html.Append("<p class=\"sub-price\">").Append(E(CheckoutPage.FormatPrice(s.Amount, s.Currency))).Append(" / ").Append(E(interval)).Append("</p>");
        html.Append("<p class=\"sub-when\">");
        if (ended)
        {
            html.Append("Ended on ").Append(Date(s.EndedAt ?? s.EndsAt ?? s.CurrentPeriodEnd));
        }
        else if (ending)
        {
            html.Append("Ends on ").Append(Date(s.EndsAt ?? s.CurrentPeriodEnd));
        }
        else if (s.Status == "trialing")
        {
            html.Append("First charge on ").Append(Date(s.TrialEnd ?? s.CurrentPeriodEnd));
        }
        else
        {
            html.Append("Renews on ").Append(Date(s.CurrentPeriodEnd));
        }

        html.Append("</p>");
        var action = $"/{EmulatorStore.OrganizationSlug}/portal/subscriptions/{Uri.EscapeDataString(s.Id)}/";
        var tokenField = $"<input type=\"hidden\" name=\"customer_session_token\" value=\"{E(token)}\">";
        if (ending && s.IsBillable)
        {
            html.Append("<form method=\"post\" action=\"").Append(E(action)).Append("uncancel\">").Append(tokenField)
                .Append("<button type=\"submit\" class=\"uncancel-subscription\">Uncancel</button></form>");
        }
        else if (!ended && s.IsBillable && !s.CancelAtPeriodEnd)
        {
            html.Append("<details><summary class=\"cancel-subscription\">Cancel subscription</summary><form method=\"post\" action=\"").Append(E(action)).Append("cancel\">")
                .Append(tokenField).Append("<p class=\"muted\">It stays active until the end of the current period.</p>")
                .Append("<fieldset><legend>Why are you cancelling? (optional)</legend>");
            foreach (var (value, label) in Reasons)
            {
                html.Append("<label class=\"reason\"><input type=\"radio\" name=\"cancellation_reason\" value=\"").Append(value).Append("\">").Append(E(label)).Append("</label>");
            }

            html.Append("</fieldset><label for=\"comment-").Append(E(s.Id)).Append("\" class=\"reason\">Comment</label><textarea id=\"comment-").Append(E(s.Id))
                .Append("\" name=\"cancellation_comment\" placeholder=\"Anything else you want to share? (Optional)\"></textarea>")
                .Append("<button type=\"submit\" class=\"danger confirm-cancel\">Cancel subscription</button></form></details>");
        }

        html.Append("</article>");
    }

    private static StringBuilder Head(string title)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
            .Append(CheckoutPage.IconLink).Append("<title>").Append(E(title)).Append("</title><style>").Append(CheckoutPage.Style).Append(Style).Append("</style></head><body>");
        return html;
    }

    private static string Date(DateTimeOffset value) => E(value.UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture));

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
