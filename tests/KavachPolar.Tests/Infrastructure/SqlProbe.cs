using Npgsql;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Runs a test's SQL against a database. Unpooled by default, so that a test looking at the store after
/// a restart neither trips over nor cleans up the connections the app under test pooled.
/// </summary>
public sealed class SqlProbe(string connectionString, bool pooling = false)
{
    public string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = pooling, ApplicationName = "kavach-test-probe" }.ConnectionString;

    public async Task<T?> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is null or DBNull ? default : (T)value;
    }

    public async Task<List<Dictionary<string, object?>>> QueryAsync(string sql, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync(ct))
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
