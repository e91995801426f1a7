using KavachPolar.Storage;
using KavachPolar.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KavachPolar.Benchmarks;

/// <summary>
/// A minimal host for the usage benchmarks: KavachPolar on a database of its own (created fresh from the model) on a real
/// PostgreSQL, talking to the Polar emulator at <paramref name="polar"/>. Not started, the sender does not run; started,
/// it sends with <paramref name="sender"/>.
/// </summary>
internal static class UsageHost
{
    public const string Database = "kavach_bench_usage";

    /// <summary>The PostgreSQL server to use, from <c>KAVACH_BENCH_PG</c> (a connection string to a database that may create databases).</summary>
    public static string ServerFromEnvironment() =>
        Environment.GetEnvironmentVariable("KAVACH_BENCH_PG") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException("Set KAVACH_BENCH_PG to a PostgreSQL connection string (e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres); the usage benchmarks create and drop databases " + Database + " and kavach_bench_record there.");

    /// <summary>
    /// Drops and creates the benchmark database (<see cref="Database"/>, or <paramref name="database"/> for a run that may
    /// go on beside another); returns its connection string.
    /// </summary>
    public static async Task<string> RecreateDatabaseAsync(string server, string database = Database)
    {
        NpgsqlConnection.ClearAllPools(); // connections of an earlier run to the database dropped here
        await using (var c = new NpgsqlConnection(server))
        {
            await c.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", c);
            await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", c);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = database, MaxPoolSize = 20 }.ConnectionString;
    }

    public static async Task<WebApplication> BuildAsync(string connectionString, Uri polar, string accessToken, UsageSendSettings? sender = null, bool createSchema = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddDbContext<KavachPolarDbContext>(o => o.UseNpgsql(connectionString));
        builder.Services.AddKavachPolar(o =>
        {
            o.ApiBaseUrl = polar;
            o.AccessToken = accessToken;
            o.WebhookSecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";
        });
        if (sender is not null)
        {
            builder.Services.AddSingleton(sender);
        }

        var app = builder.Build();
        if (createSchema)
        {
            await using var scope = app.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>().Database.EnsureCreatedAsync();
        }

        return app;
    }

    /// <summary>Events not yet accepted by Polar (nor quarantined).</summary>
    public static async Task<long> UnsentAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM kavach_polar_usage_events WHERE accepted_at_us IS NULL AND quarantined_at IS NULL", c);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
