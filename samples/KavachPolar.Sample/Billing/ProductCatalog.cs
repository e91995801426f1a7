using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using KavachPolar.Sample.Hosting;
using Microsoft.Extensions.Options;

namespace KavachPolar.Sample.Billing;

/// <summary>
/// The products on the pricing page, read from Polar's <c>GET /v1/products/</c> (the emulator's in embedded
/// mode), since KavachPolar itself lists no products. When <c>KavachPolar:Products</c> is configured only those
/// are shown, because checkout then accepts nothing else. Results are kept for a minute.
/// </summary>
public sealed class ProductCatalog(IHttpClientFactory httpClients, IOptionsMonitor<KavachPolarOptions> options, TimeProvider time, ILogger<ProductCatalog> logger)
{
    /// <summary>The name of the <see cref="HttpClient"/> the catalog uses.</summary>
    public const string HttpClientName = "polar-products";

    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private volatile CachedProducts? _cached;

    public async Task<CatalogResult> GetProductsAsync(CancellationToken cancellationToken)
    {
        if (_cached is { } hit && time.GetUtcNow() - hit.At < CacheFor)
        {
            return new CatalogResult(hit.Products, null);
        }

        try
        {
            var products = Select(await FetchAsync(cancellationToken));
            _cached = new CachedProducts(products, time.GetUtcNow());
            return new CatalogResult(products, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            SampleLog.ProductListFailed(logger, e, BaseAddress(options.CurrentValue));
            var configured = options.CurrentValue.Products
                .Select(p => new CatalogProduct(p.Value, p.Key, null, "", null, null))
                .ToList();
            return new CatalogResult(configured, Explain(e));
        }
    }

    private static string Explain(Exception e) => (e as HttpRequestException)?.StatusCode switch
    {
        System.Net.HttpStatusCode.Unauthorized => "Polar rejected the access token: check KavachPolar:AccessToken, and KavachPolar:Sandbox for a sandbox token.",
        System.Net.HttpStatusCode.Forbidden => "The access token may not list products: give it the products:read scope.",
        _ => "Polar's product list could not be read right now; showing the configured products.",
    };

    public async Task<CatalogProduct?> FindAsync(string productId, CancellationToken cancellationToken) =>
        (await GetProductsAsync(cancellationToken)).Products.FirstOrDefault(p => p.Id == productId);

    private async Task<List<CatalogProduct>> FetchAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var query = "v1/products/?is_archived=false&limit=100";
        if (!string.IsNullOrEmpty(settings.OrganizationId))
        {
            query += "&organization_id=" + Uri.EscapeDataString(settings.OrganizationId);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress(settings), query));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.AccessToken);
        request.Headers.Add("Polar-Version", "2026-10");
        using var http = httpClients.CreateClient(HttpClientName);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Polar answered {(int)response.StatusCode} to GET /v1/products/.", null, response.StatusCode);
        }

        var page = await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken)
            ?? throw new InvalidOperationException("Polar returned an empty product list.");
        return (page["items"] as JsonArray ?? []).OfType<JsonObject>().Select(Parse).ToList();
    }

    private List<CatalogProduct> Select(List<CatalogProduct> products)
    {
        var configured = options.CurrentValue.Products;
        if (configured.Count == 0)
        {
            return products;
        }

        var ids = configured.Values.ToHashSet(StringComparer.Ordinal);
        return products.Where(p => ids.Contains(p.Id)).ToList();
    }

    private static CatalogProduct Parse(JsonObject product)
    {
        var id = (string?)product["id"] ?? throw new InvalidOperationException("A Polar product has no id.");
        var price = (product["prices"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(p => (bool?)p["is_archived"] != true);
        var interval = (string?)product["recurring_interval"];
        var intervalCount = (int?)product["recurring_interval_count"] ?? 1;
        var trial = (string?)product["trial_interval"];
        var trialCount = (int?)product["trial_interval_count"] ?? 1;
        return new CatalogProduct(
            id,
            (string?)product["name"] ?? id,
            (string?)product["description"],
            FormatPrice(price),
            interval is null ? null : Period(interval, intervalCount),
            trial is null ? null : Period(trial, trialCount));
    }

    private static string FormatPrice(JsonObject? price) => (string?)price?["amount_type"] switch
    {
        "fixed" => Money((long?)price!["price_amount"] ?? 0, (string?)price["price_currency"] ?? "usd"),
        "free" => "Free",
        "custom" => "Pay what you want",
        "seat_based" => "Per seat",
        "metered_unit" => "Usage-based",
        _ => "",
    };

    /// <summary>
    /// An amount in Polar's minor units (cents for USD, yen for JPY) in its currency, e.g. <c>$299.00</c>, <c>€9.50</c>,
    /// <c>JPY 1,200</c>: the currency's number of decimals as Stripe, which charges for Polar, counts minor units (none for
    /// JPY or KRW, three for KWD or BHD, two for the rest).
    /// </summary>
    internal static string Money(long minorUnits, string currency)
    {
        var code = currency.ToLowerInvariant();
        var symbol = code switch
        {
            "usd" => "$",
            "eur" => "€",
            "gbp" => "£",
            _ => currency.ToUpperInvariant() + " ",
        };
        var decimals = code switch
        {
            "bif" or "clp" or "djf" or "gnf" or "jpy" or "kmf" or "krw" or "mga" or "pyg" or "rwf" or "ugx" or "vnd" or "vuv" or "xaf" or "xof" or "xpf" => 0,
            "bhd" or "jod" or "kwd" or "omr" or "tnd" => 3,
            _ => 2,
        };
        var value = minorUnits / (decimal)Math.Pow(10, decimals);
        return symbol + value.ToString(decimals == 0 ? "#,0" : "#,0." + new string('0', decimals), CultureInfo.InvariantCulture);
    }

    private static string Period(string unit, int count) => count == 1 ? unit : $"{count} {unit}s";

    internal static Uri BaseAddress(KavachPolarOptions settings) => settings.ApiBaseUrl is { } custom
        ? new Uri(custom.AbsoluteUri.TrimEnd('/') + "/")
        : new Uri(settings.Sandbox ? "https://sandbox-api.polar.sh/" : "https://api.polar.sh/");
}

internal sealed record CachedProducts(IReadOnlyList<CatalogProduct> Products, DateTimeOffset At);

/// <summary>The products to show, and a message when Polar could not be read.</summary>
public sealed record CatalogResult(IReadOnlyList<CatalogProduct> Products, string? Problem);
