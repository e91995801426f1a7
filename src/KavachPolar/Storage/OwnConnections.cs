using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// The connections KavachPolar keeps for itself (the cache listener's, the change announcer's): clones of the host
/// DbContext's connection (same data source, credentials and settings, a password provider's included) outside the
/// pool, with TCP keepalive, named in <c>pg_stat_activity</c>.
/// </summary>
internal static class OwnConnections
{
    public static ValueTask<NpgsqlConnection> CloneAsync(NpgsqlConnection host, string applicationName, CancellationToken ct) =>
        host.CloneWithAsync(
            new NpgsqlConnectionStringBuilder(host.ConnectionString)
            {
                Pooling = false,
                Multiplexing = false,
                KeepAlive = 10,
                ApplicationName = applicationName,
            }.ConnectionString,
            ct);
}
