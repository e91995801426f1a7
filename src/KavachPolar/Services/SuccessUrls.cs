namespace KavachPolar.Services;

/// <summary>
/// Validates where Polar may send the user after paying: a path on this app's origin, or an absolute URL on an
/// allowed origin. Strings are built by hand so that <c>{CHECKOUT_ID}</c> keeps its braces: Polar replaces the
/// literal placeholder, and <see cref="Uri"/> would escape it.
/// </summary>
internal static class SuccessUrls
{
    public const int MaxLength = 2083;

    /// <summary>Returns the absolute URL to send to Polar, or <see langword="null"/> when refused.</summary>
    public static string? Resolve(string candidate, string requestOrigin, IEnumerable<string> allowedOrigins)
    {
        if (candidate.Length is 0 or > MaxLength || candidate.Any(char.IsControl) || candidate.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        if (candidate[0] == '/')
        {
            // "//host" and "/\host" are protocol-relative: another origin in disguise.
            if (candidate.Length > 1 && candidate[1] is '/' or '\\')
            {
                return null;
            }

            return requestOrigin + candidate;
        }

        if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return null;
        }

        var origin = uri.GetLeftPart(UriPartial.Authority);
        if (string.Equals(origin, requestOrigin, StringComparison.OrdinalIgnoreCase))
        {
            return candidate;
        }

        foreach (var allowed in allowedOrigins)
        {
            if (Uri.TryCreate(allowed, UriKind.Absolute, out var a)
                && string.Equals(a.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        return null;
    }
}
