namespace KavachPolar.Storage;

/// <summary>
/// Keeps hostile text out of the database's way: PostgreSQL text cannot hold NUL, and ids are
/// compared and indexed, so they must be short and printable.
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
        return safe.Length <= maxLength ? safe : safe[..maxLength];
    }

    public static bool IsIdentifier(string value, int maxLength) =>
        value.Length > 0 && value.Length <= maxLength && !value.Any(char.IsControl);
}
