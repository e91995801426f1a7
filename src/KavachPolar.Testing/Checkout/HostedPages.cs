using System.Text;
using KavachPolar.Testing.Api;
using KavachPolar.Testing.State;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Checkout;

/// <summary>
/// What Polar's frontend serves: the checkout page at the checkout's <c>url</c>, its default confirmation
/// page, the customer portal behind a customer session token (subscriptions with cancel and uncancel, orders with
/// their invoices, a link back to the app when the session has a <c>return_url</c>), and the favicon.
/// </summary>
internal sealed class HostedPages(EmulatorStore store)
{
    /// <summary>Handles the request when it is for a hosted page; false otherwise.</summary>
    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? "/").Trim('/').Split('/');
        if (segments is ["checkout", var secret] && secret.StartsWith("polar_c_", StringComparison.Ordinal))
        {
            await CheckoutAsync(context, secret).ConfigureAwait(false);
            return true;
        }

        if (segments is ["checkout", var s, "confirmation"] && store.FindCheckoutView(s) is { } confirmed)
        {
            var message = confirmed.Status == "succeeded" ? "Your purchase was successful." : $"This checkout is {confirmed.Status}.";
            await WriteHtmlAsync(context, 200, CheckoutPage.RenderMessage("Thank you", message)).ConfigureAwait(false);
            return true;
        }

        if (segments is [EmulatorStore.OrganizationSlug, "portal"])
        {
            await PortalAsync(context).ConfigureAwait(false);
            return true;
        }

        if (segments is [EmulatorStore.OrganizationSlug, "portal", "subscriptions", var subscriptionId, "cancel" or "uncancel"] && HttpMethods.IsPost(context.Request.Method))
        {
            await PortalActionAsync(context, subscriptionId, segments[^1]).ConfigureAwait(false);
            return true;
        }

        if (segments is [EmulatorStore.OrganizationSlug, "portal", "orders", var orderId, "invoice"])
        {
            await InvoiceAsync(context, orderId).ConfigureAwait(false);
            return true;
        }

        // The invoice URL GET /v1/orders/{id}/invoice answers (Polar's is a presigned S3 URL of a PDF; here an HTML page).
        if (segments is ["invoices", _, _, _] && store.FindInvoice(string.Join('/', segments)) is { } invoice)
        {
            await WriteHtmlAsync(context, 200, PortalPage.RenderInvoice(invoice.Customer, invoice.Order, invoice.Product, null)).ConfigureAwait(false);
            return true;
        }

        if (segments is ["favicon.ico"])
        {
            context.Response.ContentType = "image/svg+xml";
            context.Response.Headers.CacheControl = "public, max-age=86400";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(CheckoutPage.Icon), context.RequestAborted).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    private async Task CheckoutAsync(HttpContext context, string secret)
    {
        var view = store.FindCheckoutView(secret);
        if (view is null)
        {
            await WriteHtmlAsync(context, 404, CheckoutPage.RenderMessage("Not found", "This checkout does not exist.")).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            await WriteHtmlAsync(context, 200, CheckoutPage.Render(view, null, null, null, null, null)).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.HasFormContentType)
        {
            context.Response.StatusCode = 405;
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var email = form["email"].ToString();
        var name = form["name"].ToString();
        var card = form["card"].ToString();
        if (CheckoutPage.CardError(card) is { } cardError)
        {
            // Polar's checkout collects the card in Stripe's card field, which refuses an incomplete or invalid number
            // before anything is submitted: the customer sees the message under the field and nothing is charged.
            await WriteHtmlAsync(context, 422, CheckoutPage.Render(view, null, email, name, card, cardError)).ConfigureAwait(false);
            return;
        }

        try
        {
            var result = store.Pay(view.Id, email, name);
            context.Response.StatusCode = 303;
            context.Response.Headers.Location = result.RedirectUrl.ToString();
        }
        catch (PolarApiException e)
        {
            var current = store.FindCheckoutView(secret) ?? view;
            await WriteHtmlAsync(context, e.StatusCode, CheckoutPage.Render(current, Describe(e), email, name, card, null)).ConfigureAwait(false);
        }
    }

    private static string Describe(PolarApiException e)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(e.Body);
        var detail = doc.RootElement.GetProperty("detail");
        return detail.ValueKind == System.Text.Json.JsonValueKind.Array
            ? string.Join(" ", detail.EnumerateArray().Select(d => d.GetProperty("msg").GetString()))
            : detail.GetString() ?? "The payment failed.";
    }

    private async Task PortalAsync(HttpContext context)
    {
        var token = context.Request.Query["customer_session_token"].ToString();
        if (store.FindPortal(token) is not { } portal)
        {
            await ExpiredAsync(context).ConfigureAwait(false);
            return;
        }

        await WriteHtmlAsync(context, 200, PortalPage.Render(portal, token, null)).ConfigureAwait(false);
    }

    /// <summary>
    /// The portal's cancel and uncancel forms: the same store operations as <c>PATCH /v1/subscriptions/{id}</c>, then
    /// back to the portal (303); a refusal shows the portal again with Polar's reason and its status code.
    /// </summary>
    private async Task PortalActionAsync(HttpContext context, string subscriptionId, string action)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false) : FormCollection.Empty;
        var token = form["customer_session_token"].ToString();
        try
        {
            if (action == "cancel")
            {
                var reason = form["cancellation_reason"].ToString();
                var comment = form["cancellation_comment"].ToString();
                store.PortalCancel(token, subscriptionId, reason.Length == 0 ? null : reason, string.IsNullOrWhiteSpace(comment) ? null : comment);
            }
            else
            {
                store.PortalUncancel(token, subscriptionId);
            }

            context.Response.StatusCode = 303;
            context.Response.Headers.Location = PortalPath(token);
        }
        catch (PolarApiException e) when (e.StatusCode == 401)
        {
            await ExpiredAsync(context).ConfigureAwait(false);
        }
        catch (PolarApiException e) when (e.StatusCode == 404)
        {
            await WriteHtmlAsync(context, 404, CheckoutPage.RenderMessage("Not found", "This subscription does not exist.", PortalPath(token), "Back to the portal")).ConfigureAwait(false);
        }
        catch (PolarApiException e)
        {
            var message = action == "uncancel" && e.StatusCode == 400
                ? "This subscription is not set to cancel, so there is nothing to uncancel."
                : (action == "cancel" ? "The subscription could not be cancelled: " : "The subscription could not be uncancelled: ") + Describe(e);
            var portal = store.FindPortal(token);
            await WriteHtmlAsync(context, e.StatusCode, portal is null ? CheckoutPage.RenderMessage("Customer portal", message) : PortalPage.Render(portal, token, message)).ConfigureAwait(false);
        }
    }

    private async Task InvoiceAsync(HttpContext context, string orderId)
    {
        var token = context.Request.Query["customer_session_token"].ToString();
        try
        {
            var (customer, order, product) = store.PortalOrder(token, orderId);
            if (order.Status is not ("paid" or "refunded" or "partially_refunded"))
            {
                await WriteHtmlAsync(context, 409, CheckoutPage.RenderMessage("No invoice", $"Order {order.Id} is {order.Status}: it has no invoice.", PortalPath(token), "Back to the portal")).ConfigureAwait(false);
                return;
            }

            await WriteHtmlAsync(context, 200, PortalPage.RenderInvoice(customer, order, product, token)).ConfigureAwait(false);
        }
        catch (PolarApiException e) when (e.StatusCode == 401)
        {
            await ExpiredAsync(context).ConfigureAwait(false);
        }
        catch (PolarApiException e) when (e.StatusCode == 404)
        {
            await WriteHtmlAsync(context, 404, CheckoutPage.RenderMessage("Not found", "This order does not exist.", PortalPath(token), "Back to the portal")).ConfigureAwait(false);
        }
    }

    private static string PortalPath(string token) =>
        $"/{EmulatorStore.OrganizationSlug}/portal?customer_session_token={Uri.EscapeDataString(token)}";

    private static Task ExpiredAsync(HttpContext context) =>
        WriteHtmlAsync(context, 401, CheckoutPage.RenderMessage("Customer portal", "This link has expired. Ask for a new one."));

    private static async Task WriteHtmlAsync(HttpContext context, int status, string html)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(html), context.RequestAborted).ConfigureAwait(false);
    }
}
