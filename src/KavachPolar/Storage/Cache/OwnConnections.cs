using Npgsql;

namespace KavachPolar.Storage.Cache;

/// <summary>
/// The connections KavachPolar keeps for itself (the cache listener's, the change announcer's): outside the pool, with
/// TCP keepalive, named in <c>pg_stat_activity</c>. Opened with <see cref="KavachPolarOptions.NotificationConnectionString"/>
/// when it is set (a direct connection beside a pooler in transaction mode), else cloned from the host DbContext's
/// connection (same data source, credentials and settings, a password provider's included).
/// </summary>
internal static class OwnConnections
{
    public static ValueTask<NpgsqlConnection> CloneAsync(NpgsqlConnection host, string? notificationConnectionString, string applicationName, CancellationToken ct) =>
        string.IsNullOrWhiteSpace(notificationConnectionString)
            ? host.CloneWithAsync(Own(host.ConnectionString, applicationName), ct)
            : ValueTask.FromResult(new NpgsqlConnection(Own(notificationConnectionString, applicationName)));

    private static string Own(string connectionString, string applicationName) =>
        new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Multiplexing = false,
            // TCP keepalive, which PostgreSQL never sees as a statement: Npgsql's own keepalive (KeepAlive) sends an empty
            // query, one transaction each time, and on three idle connections that was most of an idle host's cost.
            // Liveness is proven otherwise: the listener's probe every 15 s, the announcer's retry on a fresh connection.
            KeepAlive = 0,
            TcpKeepAlive = true,
            TcpKeepAliveTime = 10,
            TcpKeepAliveInterval = 5,
            ApplicationName = applicationName,
        }.ConnectionString;

    /// <summary>Why Npgsql would refuse <paramref name="value"/> as a connection string, or <see langword="null"/>.</summary>
    public static string? ConnectionStringProblem(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "it is blank.";
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(value);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return e.Message;
        }
    }
}
