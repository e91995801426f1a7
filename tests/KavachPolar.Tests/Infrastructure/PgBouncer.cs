using Npgsql;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// The PgBouncer that <c>scripts/test.sh</c> starts in transaction mode in front of the main cluster (every database,
/// by name). Without it the test fails loudly: it never skips.
/// </summary>
public static class PgBouncer
{
    public const string EnvironmentVariable = "KAVACH_TEST_PGBOUNCER";

    /// <summary>
    /// A connection string through the pooler to <paramref name="database"/>, with Npgsql's documented settings for a
    /// pooler in transaction mode (no reset of pooled connections, no automatic preparation) unless
    /// <paramref name="poolerSettings"/> is false (Npgsql's defaults: a pooled connection is reset when closed).
    /// </summary>
    public static string ConnectionStringTo(string database, bool poolerSettings = true) =>
        new NpgsqlConnectionStringBuilder(
            Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } cs
                ? cs
                : throw new InvalidOperationException(
                    $"{EnvironmentVariable} is not set. These tests need PgBouncer in transaction mode: run them with scripts/test.sh, which installs and starts it."))
        {
            Database = database,
            NoResetOnClose = poolerSettings,
            MaxAutoPrepare = 0,
        }.ConnectionString;
}
