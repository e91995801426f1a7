namespace KavachPolar.Storage;

/// <summary>
/// Keeps hostile text out of the database's way: PostgreSQL text cannot hold NUL, a column holds at most its length,
/// and ids are compared and indexed, so they must be short and printable.
/// </summary>
internal static class TextSafety
{
    public static string ForTextColumn(string value) =>
        value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

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

    public static bool IsIdentifier(string value, int maxLength) =>
        value.Length > 0 && value.Length <= maxLength && !value.Any(char.IsControl);
}
