using Npgsql;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// A fresh PostgreSQL database on the server that <c>scripts/test.sh</c> started. Without that
/// server the test fails loudly: it never skips.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    public const string EnvironmentVariable = "KAVACH_TEST_PG";

    private PostgresDatabase(string serverConnectionString, string name)
    {
        ServerConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
        _sql = new SqlProbe(ConnectionString, pooling: true);
    }

    private readonly SqlProbe _sql;

    public string ServerConnectionString { get; }

    public string Name { get; }

    public string ConnectionString { get; }

    public static string ServerConnectionStringOrFail() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set. These tests need a real PostgreSQL: run them with scripts/test.sh, which installs and starts a throwaway server.");

    public static Task<PostgresDatabase> CreateAsync(CancellationToken ct = default) =>
        CreateAsync(ServerConnectionStringOrFail(), ct);

    /// <summary>A fresh database on the server <paramref name="server"/> points at (e.g. the chaos cluster).</summary>
    public static async Task<PostgresDatabase> CreateAsync(string server, CancellationToken ct)
    {
        var name = "kavach_" + Guid.NewGuid().ToString("N")[..16];
        await using var conn = new NpgsqlConnection(server);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
        await cmd.ExecuteNonQueryAsync(ct);
        return new PostgresDatabase(server, name);
    }

    public Task<T?> ScalarAsync<T>(string sql, CancellationToken ct = default) => _sql.ScalarAsync<T>(sql, ct);

    public Task<List<Dictionary<string, object?>>> QueryAsync(string sql, CancellationToken ct = default) => _sql.QueryAsync(sql, ct);

    /// <summary>The first column of every row, in the order the query returns them.</summary>
    public async Task<List<T>> QueryColumnAsync<T>(string sql, CancellationToken ct = default) =>
        (await _sql.QueryAsync(sql, ct)).Select(r => (T)r.Values.First()!).ToList();

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var conn = new NpgsqlConnection(ServerConnectionString);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The server may be stopped by an outage test; the throwaway cluster goes away anyway.
        }
    }
}
