namespace KavachPolar.Storage;

/// <summary>
/// Keeps hostile text out of the database's way: PostgreSQL text cannot hold NUL, a column holds at most its length,
/// and ids are compared and indexed, so they must be short and printable.
/// </summary>
internal static class TextSafety
{
    /// <summary>
    /// <paramref name="value"/> as PostgreSQL text can hold it: NUL, and half of a character outside the BMP without its
    /// other half (valid UTF-16 has none; Npgsql refuses to encode one), become U+FFFD.
    /// </summary>
    public static string ForTextColumn(string value)
    {
        var first = FirstUnsafe(value, 0);
        if (first < 0)
        {
            return value;
        }

        var chars = value.ToCharArray();
        for (var i = first; i >= 0; i = FirstUnsafe(value, i + 1))
        {
            chars[i] = '\uFFFD';
        }

        return new string(chars);
    }

    public static string? ForTextColumn(string? value, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        var safe = ForTextColumn(value);
        if (safe.Length <= maxLength)
        {
            return safe;
        }

        // Never between the two halves of a character outside the BMP (an emoji): a lone half is not valid text,
        // and Npgsql refuses to encode it, so the whole write would fail.
        return safe[..(char.IsHighSurrogate(safe[maxLength - 1]) ? maxLength - 1 : maxLength)];
    }

    /// <summary>The index of the first NUL or lone half of a surrogate pair at or after <paramref name="from"/>, or -1.</summary>
    private static int FirstUnsafe(string value, int from)
    {
        for (var i = from; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (value[i] == '\0' || char.IsSurrogate(value[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public static bool IsIdentifier(string value, int maxLength) =>
        value.Length > 0 && value.Length <= maxLength && !value.Any(char.IsControl);
}
