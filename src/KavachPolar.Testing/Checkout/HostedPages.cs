using System.Text;
using KavachPolar.Testing.Api;
using KavachPolar.Testing.State;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Checkout;

/// <summary>
/// What Polar's frontend serves: the checkout page at the checkout's <c>url</c>, its default confirmation
/// page, and a minimal customer portal behind a customer session token.
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
        var portal = store.FindPortal(token);
        if (portal is not { } p)
        {
            await WriteHtmlAsync(context, 401, CheckoutPage.RenderMessage("Customer portal", "This link has expired. Ask for a new one.")).ConfigureAwait(false);
            return;
        }

        var lines = p.Subscriptions.Count == 0
            ? "No subscriptions."
            : string.Join(" · ", p.Subscriptions.Select(s => $"{s.ProductName}: {s.Subscription.Status}{(s.Subscription.CancelAtPeriodEnd ? " (cancels at period end)" : "")}"));
        await WriteHtmlAsync(context, 200, CheckoutPage.RenderMessage("Customer portal · " + p.Customer.Email, lines)).ConfigureAwait(false);
    }

    private static async Task WriteHtmlAsync(HttpContext context, int status, string html)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(html), context.RequestAborted).ConfigureAwait(false);
    }
}
