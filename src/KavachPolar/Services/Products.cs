namespace KavachPolar.Services;

/// <summary>Reads a product a client names: a Polar product id, or a slug of <see cref="KavachPolarOptions.Products"/>.</summary>
internal static class Products
{
    /// <summary>The product id (lower-case UUID), or <see langword="null"/> when the product is not accepted.</summary>
    public static string? Resolve(string? wanted, KavachPolarOptions options)
    {
        if (string.IsNullOrWhiteSpace(wanted))
        {
            return null;
        }

        if (options.Products.Count > 0)
        {
            if (options.Products.TryGetValue(wanted, out var bySlug))
            {
                return bySlug.ToLowerInvariant();
            }

            return options.Products.Values.FirstOrDefault(v => string.Equals(v, wanted, StringComparison.OrdinalIgnoreCase))?.ToLowerInvariant();
        }

        return Guid.TryParseExact(wanted, "D", out var id) ? id.ToString("D") : null;
    }

    /// <summary>
    /// The product id a host names (a slug of <see cref="KavachPolarOptions.Products"/>, or any Polar product id, as a
    /// lower-case UUID), or <see langword="null"/> when it is neither. Unlike <see cref="Resolve"/>, which says what a
    /// client may buy, this reads the host's own code and configuration.
    /// </summary>
    public static string? IdOf(string? name, KavachPolarOptions options)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        if (options.Products.TryGetValue(name, out var bySlug) && Guid.TryParseExact(bySlug, "D", out var slugId))
        {
            return slugId.ToString("D");
        }

        return Guid.TryParseExact(name, "D", out var id) ? id.ToString("D") : null;
    }

    /// <summary>
    /// Each of <paramref name="wanted"/> as a product id (<see cref="Resolve"/>), or as given when it names no accepted
    /// product, so that it still matches a subscription to exactly that id.
    /// </summary>
    public static string[] ResolveAll(IReadOnlyCollection<string> wanted, KavachPolarOptions options) =>
        [.. wanted.Select(p => Resolve(p, options) ?? p)];
}
