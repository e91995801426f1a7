using System.Globalization;

namespace KavachPolar.Sample.Billing;

/// <summary>The sample's one way of writing dates, in UTC: <c>5 May 2026</c>, and <c>5 May 2026 14:03:07</c> with a time.</summary>
public static class SampleDates
{
    /// <summary>The date, or a dash for none.</summary>
    public static string Date(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture) ?? "—";

    /// <summary>The date and the time to the second.</summary>
    public static string DateTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("d MMMM yyyy HH:mm:ss", CultureInfo.InvariantCulture);
}
