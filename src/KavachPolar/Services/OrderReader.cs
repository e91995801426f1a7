using KavachPolar.Billing;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Services;

/// <summary>
/// A user's orders for <see cref="IKavachPolarEntitlements"/>, <c>GET orders</c> and the invoice route: purchases come
/// with the user's cached state (<see cref="SubscriptionReader"/>); the order list and an order's owner are read from
/// the database; invoices from Polar, only for the user's own order.
/// </summary>
internal sealed class OrderReader(BillingStore billing, SubscriptionReader reader, PolarApiClient api, ILogger<OrderReader> logger)
{
    /// <summary>Polar's error name when an order has no billing name or address to put on an invoice (<c>order/service.py</c>).</summary>
    internal const string MissingInvoiceBillingDetails = "MissingInvoiceBillingDetails";

    /// <summary>What asking for an invoice gave: its URL, "being made" (ask again later), or an error code.</summary>
    /// <param name="Url">The invoice, once Polar has generated it.</param>
    /// <param name="Pending">Polar was asked to generate it (or is generating it): ask again later.</param>
    /// <param name="ErrorCode">A <see cref="KavachPolarErrorCodes"/> value.</param>
    /// <param name="PolarError">Polar's error behind <paramref name="ErrorCode"/>, if any.</param>
    public readonly record struct InvoiceOutcome(Uri? Url, bool Pending, string? ErrorCode, PolarApiError? PolarError = null);

    /// <summary>Whether the user has a paid, not fully refunded one-time order of <paramref name="productId"/>.</summary>
    public async Task<bool> HasPurchasedAsync(string userId, string productId, CancellationToken ct)
    {
        var state = await reader.LoadAsync(userId, ct).ConfigureAwait(false);
        return state.PurchasedProducts is { } bought && bought.Contains(productId, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The user's orders, newest first.</summary>
    public async Task<IReadOnlyList<KavachOrder>> GetAsync(string userId, int limit, CancellationToken ct) =>
        [.. (await billing.OrdersOfUserAsync(userId, limit, ct).ConfigureAwait(false)).Select(ToOrder)];

    /// <summary>
    /// The invoice of the user's order <paramref name="orderId"/>: another user's order, or one not stored, is
    /// <see cref="KavachPolarErrorCodes.NotFound"/> before Polar is asked anything. Polar makes invoices in the background
    /// (<c>POST /v1/orders/{id}/invoice</c> answers 202), so a missing one is asked for and answered as pending.
    /// </summary>
    public async Task<InvoiceOutcome> InvoiceAsync(string userId, string orderId, CancellationToken ct)
    {
        if (!Guid.TryParseExact(orderId, "D", out var parsed)
            || await billing.OrderOfUserAsync(userId, parsed.ToString("D"), ct).ConfigureAwait(false) is not { } order)
        {
            return new InvoiceOutcome(null, false, KavachPolarErrorCodes.NotFound);
        }

        using var caller = PolarCaller.For(userId);
        var invoice = await api.GetInvoiceAsync(order.Id, ct).ConfigureAwait(false);
        if (invoice.IsSuccess)
        {
            return Uri.TryCreate(invoice.Value!.Url, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
                ? new InvoiceOutcome(url, false, null)
                : new InvoiceOutcome(null, false, KavachPolarErrorCodes.PolarUnexpectedResponse);
        }

        if (invoice.Error!.Kind != PolarErrorKind.NotFound)
        {
            return new InvoiceOutcome(null, false, ResultCodes.For(invoice.Error), invoice.Error);
        }

        var generate = await api.GenerateInvoiceAsync(order.Id, ct).ConfigureAwait(false);
        if (generate.IsSuccess)
        {
            return new InvoiceOutcome(null, true, null);
        }

        if (generate.Error!.Code == MissingInvoiceBillingDetails)
        {
            // Polar's trigger_invoice_generation: 422 when the order has no billing name or no billing address. Not a
            // validation error of this request: the customer adds them (Polar's customer portal), then asks again.
            Log.InvoiceBillingDetailsMissing(logger, order.Id, order.CustomerId);
            return new InvoiceOutcome(null, false, KavachPolarErrorCodes.InvoiceBillingDetailsMissing);
        }

        return new InvoiceOutcome(null, false, ResultCodes.For(generate.Error), generate.Error);
    }

    internal static KavachOrder ToOrder(OrderRecord o) => new()
    {
        Id = o.Id,
        ProductId = o.ProductId,
        Status = o.Status,
        BillingReason = o.BillingReason,
        NetAmount = o.NetAmount,
        TaxAmount = o.TaxAmount,
        TotalAmount = o.TotalAmount,
        RefundedAmount = o.RefundedAmount,
        Currency = o.Currency,
        CreatedAt = o.CreatedAt,
        SubscriptionId = o.SubscriptionId,
    };
}
