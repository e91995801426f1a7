namespace KavachPolar.Benefits;

/// <summary>Reads a benefit a caller names: a Polar benefit id, or a slug of <see cref="KavachPolarOptions.Benefits"/>.</summary>
internal static class BenefitNames
{
    /// <summary>The benefit id (lower-case UUID), or <see langword="null"/> when <paramref name="wanted"/> names none.</summary>
    public static string? Resolve(string? wanted, KavachPolarOptions options)
    {
        if (string.IsNullOrWhiteSpace(wanted))
        {
            return null;
        }

        if (options.Benefits.TryGetValue(wanted, out var bySlug))
        {
            return Guid.TryParseExact(bySlug, "D", out var slugId) ? slugId.ToString("D") : null;
        }

        return Guid.TryParseExact(wanted, "D", out var id) ? id.ToString("D") : null;
    }
}
