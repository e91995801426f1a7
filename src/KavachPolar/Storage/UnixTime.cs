namespace KavachPolar.Storage;

/// <summary>Instants as stored in the <c>*_us</c> columns: Unix microseconds.</summary>
internal static class UnixTime
{
    public static long Microseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}
