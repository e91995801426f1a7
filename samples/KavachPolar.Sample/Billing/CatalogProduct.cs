namespace KavachPolar.Sample.Billing;

/// <summary>A product as the pricing page shows it.</summary>
/// <param name="Id">Polar's product id, what the checkout route takes.</param>
/// <param name="Name">The product name.</param>
/// <param name="Description">The description, when Polar has one.</param>
/// <param name="Price">The price as shown, e.g. <c>$19.00</c>, <c>Free</c> or <c>Pay what you want</c>.</param>
/// <param name="Interval">The billing period, e.g. <c>month</c> or <c>3 months</c>; <see langword="null"/> for a one-time purchase.</param>
/// <param name="Trial">The free trial, e.g. <c>14 days</c>, when the product has one.</param>
public sealed record CatalogProduct(string Id, string Name, string? Description, string Price, string? Interval, string? Trial)
{
    /// <summary>A short lower-case name for test hooks and element ids, e.g. <c>pro-yearly</c>.</summary>
    public string Slug => string.Concat(Name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')).Trim('-');
}
