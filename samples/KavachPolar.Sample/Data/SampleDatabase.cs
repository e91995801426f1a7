using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Sample.Data;

/// <summary>Chooses the database from <c>Database:Provider</c> and <c>ConnectionStrings:Kavach</c>.</summary>
internal static class SampleDatabase
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>The provider name, lower case; <see cref="Sqlite"/> when not configured.</summary>
    public static string Provider(IConfiguration configuration)
    {
        var provider = configuration["Database:Provider"];
        if (string.IsNullOrWhiteSpace(provider))
        {
            return Sqlite;
        }

        return provider.Trim().ToLowerInvariant() switch
        {
            Sqlite => Sqlite,
            Postgres or "postgresql" or "npgsql" => Postgres,
            _ => throw new InvalidOperationException($"Database:Provider must be \"sqlite\" or \"postgres\", not \"{provider}\"."),
        };
    }

    /// <summary>
    /// The connection string; a relative SQLite <c>Data Source</c> is resolved against the content root so the
    /// file lands beside the project whatever the working directory.
    /// </summary>
    public static string ConnectionString(IConfiguration configuration, string provider, string contentRoot)
    {
        var connectionString = configuration.GetConnectionString("Kavach");
        if (provider == Postgres)
        {
            return string.IsNullOrWhiteSpace(connectionString)
                ? throw new InvalidOperationException("ConnectionStrings:Kavach is required when Database:Provider is postgres, e.g. \"Host=localhost;Database=kavach;Username=postgres;Password=...\".")
                : connectionString;
        }

        var sqlite = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(connectionString) ? "Data Source=kavach-sample.db" : connectionString);
        if (sqlite.DataSource != ":memory:" && !Path.IsPathRooted(sqlite.DataSource))
        {
            sqlite.DataSource = Path.Combine(contentRoot, sqlite.DataSource);
        }

        return sqlite.ToString();
    }

    public static void Configure(DbContextOptionsBuilder options, string provider, string connectionString)
    {
        if (provider == Postgres)
        {
            options.UseNpgsql(connectionString);
        }
        else
        {
            options.UseSqlite(connectionString);
        }
    }

    /// <summary>
    /// Columns added to <c>sample_subscription_changes</c> after its first version, for a database kept from an earlier
    /// run (<c>EnsureCreated</c> creates missing tables, never missing columns).
    /// </summary>
    public static async Task AddMissingColumnsAsync(SampleDbContext db, string provider, CancellationToken cancellationToken)
    {
        (string Name, string Postgres, string Sqlite)[] added =
        [
            ("previous_product_id", "varchar(100) NULL", "TEXT NULL"),
            ("previous_cancel_at_period_end", "boolean NOT NULL DEFAULT false", "INTEGER NOT NULL DEFAULT 0"),
            ("scheduled_product_id", "varchar(100) NULL", "TEXT NULL"),
            ("previous_scheduled_product_id", "varchar(100) NULL", "TEXT NULL"),
        ];
        foreach (var (name, postgresType, sqliteType) in added)
        {
            string sql;
            if (provider == Postgres)
            {
                sql = "ALTER TABLE sample_subscription_changes ADD COLUMN IF NOT EXISTS " + name + " " + postgresType;
            }
            else
            {
                var exists = "SELECT COUNT(*) AS \"Value\" FROM pragma_table_info('sample_subscription_changes') WHERE name = '" + name + "'";
                if (await db.Database.SqlQueryRaw<int>(exists).SingleAsync(cancellationToken) > 0)
                {
                    continue;
                }

                sql = "ALTER TABLE sample_subscription_changes ADD COLUMN " + name + " " + sqliteType;
            }

            await db.Database.ExecuteSqlRawAsync(sql, cancellationToken);
        }
    }

    /// <summary>A short description for the start-up banner, without credentials.</summary>
    public static string Describe(string provider, string connectionString)
    {
        if (provider == Postgres)
        {
            var pg = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            return $"PostgreSQL {pg.Host}:{pg.Port}/{pg.Database}";
        }

        return "SQLite " + new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource;
    }
}
