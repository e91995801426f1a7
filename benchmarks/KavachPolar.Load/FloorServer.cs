using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using KavachPolar.Webhooks;
using Npgsql;
using NpgsqlTypes;

namespace KavachPolar.Load;

/// <summary>
/// The floor KavachPolar is measured against (design.md, "Performance targets"): a bare minimal-API process on
/// the same PostgreSQL, with no authentication, no EF Core and no KavachPolar services. Its webhook verifies the
/// signature over the raw body and makes one round trip: one statement that records the <c>webhook-id</c>
/// (on conflict do nothing), upserts the subscription row behind the version guard and upserts the user's
/// projection row. Its GET reads the user's row with one Npgsql query.
/// </summary>
internal static class FloorServer
{
    public const string Database = "kavach_floor";

    private const int MaxBodyBytes = 1024 * 1024;

    private const string Schema = """
        CREATE TABLE floor_events (
            id varchar(256) PRIMARY KEY,
            event_type varchar(128) NOT NULL,
            received_at timestamptz NOT NULL);
        CREATE INDEX ON floor_events (received_at);
        CREATE TABLE floor_subscriptions (
            id varchar(64) PRIMARY KEY,
            user_id varchar(256),
            customer_id varchar(64) NOT NULL,
            status varchar(32) NOT NULL,
            product_id varchar(64) NOT NULL,
            current_period_end timestamptz,
            cancel_at_period_end boolean NOT NULL,
            version_us bigint NOT NULL,
            source_timestamp_us bigint NOT NULL,
            updated_at timestamptz NOT NULL);
        CREATE INDEX ON floor_subscriptions (customer_id);
        CREATE INDEX ON floor_subscriptions (user_id);
        CREATE TABLE floor_users (
            id varchar(256) PRIMARY KEY,
            subscription_id varchar(64),
            status varchar(32),
            product_id varchar(64),
            current_period_end timestamptz,
            cancel_at_period_end boolean NOT NULL,
            updated_at timestamptz NOT NULL);
        """;

    // Each step reads the previous one's rows: a duplicate inserts no event, so nothing else is written; a stale
    // snapshot fails the guard, so the user's row is left alone.
    private const string ApplySql = """
        WITH ev AS (
            INSERT INTO floor_events (id, event_type, received_at) VALUES ($1, $2, now())
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), sub AS (
            INSERT INTO floor_subscriptions AS s
                (id, user_id, customer_id, status, product_id, current_period_end, cancel_at_period_end, version_us, source_timestamp_us, updated_at)
            SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, now() FROM ev
            ON CONFLICT (id) DO UPDATE SET
                user_id = excluded.user_id, customer_id = excluded.customer_id, status = excluded.status,
                product_id = excluded.product_id, current_period_end = excluded.current_period_end,
                cancel_at_period_end = excluded.cancel_at_period_end, version_us = excluded.version_us,
                source_timestamp_us = excluded.source_timestamp_us, updated_at = excluded.updated_at
            WHERE s.version_us < excluded.version_us
               OR (s.version_us = excluded.version_us AND s.source_timestamp_us < excluded.source_timestamp_us)
            RETURNING id, user_id, status, product_id, current_period_end, cancel_at_period_end
        ), usr AS (
            INSERT INTO floor_users AS u (id, subscription_id, status, product_id, current_period_end, cancel_at_period_end, updated_at)
            SELECT user_id, id, status, product_id, current_period_end, cancel_at_period_end, now() FROM sub WHERE user_id IS NOT NULL
            ON CONFLICT (id) DO UPDATE SET
                subscription_id = excluded.subscription_id, status = excluded.status, product_id = excluded.product_id,
                current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end,
                updated_at = excluded.updated_at
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM ev)::int, (SELECT count(*) FROM sub)::int
        """;

    private const string ReadSql = "SELECT subscription_id, status, product_id, current_period_end, cancel_at_period_end FROM floor_users WHERE id = $1";

    private static long s_deliveries;
    private static long s_applied;
    private static long s_duplicates;
    private static long s_stale;

    public static async Task<int> RunAsync(Arguments args)
    {
        var pg = args.Get("pg", Environment.GetEnvironmentVariable("KAVACH_TEST_PG") ?? "");
        if (pg.Length == 0)
        {
            Console.Error.WriteLine("--pg <connection string> (or KAVACH_TEST_PG) is required");
            return 2;
        }

        await RecreateDatabaseAsync(pg);
        var connectionString = new NpgsqlConnectionStringBuilder(pg) { Database = Database, MaxPoolSize = 64 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var create = dataSource.CreateCommand(Schema))
        {
            await create.ExecuteNonQueryAsync();
        }

        var urls = args.Get("urls", "http://127.0.0.1:5096");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, FloorJsonContext.Default));
        var app = builder.Build();
        var verifier = new PolarWebhookVerifier([args.Get("secret", LoadServer.Secret)], TimeSpan.FromMinutes(5));

        app.MapPost("/_floor/webhook", (Func<HttpContext, Task<IResult>>)(context => WebhookAsync(context, dataSource, verifier)));
        app.MapGet("/_floor/subscription", (Func<HttpContext, Task<IResult>>)(context => ReadAsync(context, dataSource)));
        app.MapGet("/_floor/stats", () => new FloorStats(
            Interlocked.Read(ref s_deliveries),
            Interlocked.Read(ref s_applied),
            Interlocked.Read(ref s_duplicates),
            Interlocked.Read(ref s_stale),
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds));

        Console.WriteLine($"floor serving on {urls}, database {Database} (recreated)");
        await app.RunAsync();
        return 0;
    }

    private static async Task RecreateDatabaseAsync(string pg)
    {
        await using var admin = new NpgsqlConnection(pg);
        await admin.OpenAsync();
        await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", admin))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", admin);
        await create.ExecuteNonQueryAsync();
    }

    private static async Task<IResult> WebhookAsync(HttpContext context, NpgsqlDataSource dataSource, PolarWebhookVerifier verifier)
    {
        var length = context.Request.ContentLength;
        if (length is not > 0 || length > MaxBodyBytes)
        {
            return Results.StatusCode(length > MaxBodyBytes ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest);
        }

        var headers = context.Request.Headers;
        var n = (int)length.Value;
        var buffer = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            try
            {
                await context.Request.Body.ReadExactlyAsync(buffer.AsMemory(0, n), context.RequestAborted);
            }
            catch (EndOfStreamException)
            {
                return Results.StatusCode(StatusCodes.Status400BadRequest);
            }

            var id = headers["webhook-id"].ToString();
            if (!verifier.Verify(id, headers["webhook-timestamp"].ToString(), headers["webhook-signature"].ToString(), buffer.AsSpan(0, n)).IsValid)
            {
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            }

            if (!TryRead(buffer.AsMemory(0, n), out var e))
            {
                return Results.StatusCode(StatusCodes.Status400BadRequest);
            }

            await using var command = dataSource.CreateCommand(ApplySql);
            var p = command.Parameters;
            p.Add(new NpgsqlParameter<string> { TypedValue = id });
            p.Add(new NpgsqlParameter<string> { TypedValue = e.Type });
            p.Add(new NpgsqlParameter<string> { TypedValue = e.SubscriptionId });
            p.Add(new NpgsqlParameter { Value = (object?)e.UserId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
            p.Add(new NpgsqlParameter<string> { TypedValue = e.CustomerId });
            p.Add(new NpgsqlParameter<string> { TypedValue = e.Status });
            p.Add(new NpgsqlParameter<string> { TypedValue = e.ProductId });
            p.Add(new NpgsqlParameter { Value = (object?)e.CurrentPeriodEnd ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            p.Add(new NpgsqlParameter<bool> { TypedValue = e.CancelAtPeriodEnd });
            p.Add(new NpgsqlParameter<long> { TypedValue = e.VersionUs });
            p.Add(new NpgsqlParameter<long> { TypedValue = e.SourceTimestampUs });
            await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
            await reader.ReadAsync(context.RequestAborted);
            var recorded = reader.GetInt32(0) == 1;
            var applied = reader.GetInt32(1) == 1;
            Interlocked.Increment(ref s_deliveries);
            string outcome;
            if (!recorded)
            {
                Interlocked.Increment(ref s_duplicates);
                outcome = "duplicate";
            }
            else if (applied)
            {
                Interlocked.Increment(ref s_applied);
                outcome = "applied";
            }
            else
            {
                Interlocked.Increment(ref s_stale);
                outcome = "stale";
            }

            return TypedResults.Json(new FloorAck(outcome), FloorJsonContext.Default.FloorAck, statusCode: StatusCodes.Status202Accepted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<IResult> ReadAsync(HttpContext context, NpgsqlDataSource dataSource)
    {
        var user = context.Request.Headers["X-User"].ToString();
        if (user.Length == 0)
        {
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }

        await using var command = dataSource.CreateCommand(ReadSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = user });
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        KavachSubscription? subscription = null;
        if (await reader.ReadAsync(context.RequestAborted) && !reader.IsDBNull(0))
        {
            subscription = new KavachSubscription
            {
                Id = reader.GetString(0),
                Status = reader.GetString(1),
                ProductId = reader.GetString(2),
                CurrentPeriodEnd = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                CancelAtPeriodEnd = reader.GetBoolean(4),
            };
        }

        return TypedResults.Json(new FloorSubscriptionResponse(subscription), FloorJsonContext.Default.FloorSubscriptionResponse);
    }

    /// <summary>Reads the fields the floor stores; a body without them is a 400 (the floor handles subscription events only).</summary>
    private static bool TryRead(ReadOnlyMemory<byte> body, out FloorEvent e)
    {
        e = default;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var data = root.GetProperty("data");
            var modified = data.GetProperty("modified_at");
            var end = data.GetProperty("current_period_end");
            var customer = data.GetProperty("customer");
            e = new FloorEvent(
                root.GetProperty("type").GetString()!,
                Microseconds(root.GetProperty("timestamp").GetDateTimeOffset()),
                data.GetProperty("id").GetString()!,
                customer.ValueKind == JsonValueKind.Object ? customer.GetProperty("external_id").GetString() : null,
                data.GetProperty("customer_id").GetString()!,
                data.GetProperty("status").GetString()!,
                data.GetProperty("product_id").GetString()!,
                end.ValueKind == JsonValueKind.Null ? null : end.GetDateTimeOffset(),
                data.GetProperty("cancel_at_period_end").GetBoolean(),
                Microseconds(modified.ValueKind == JsonValueKind.Null ? data.GetProperty("created_at").GetDateTimeOffset() : modified.GetDateTimeOffset()));
            return e.Type is not null && e.SubscriptionId is not null && e.CustomerId is not null && e.Status is not null && e.ProductId is not null;
        }
        catch (Exception x) when (x is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    private static long Microseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private readonly record struct FloorEvent(
        string Type,
        long SourceTimestampUs,
        string SubscriptionId,
        string? UserId,
        string CustomerId,
        string Status,
        string ProductId,
        DateTimeOffset? CurrentPeriodEnd,
        bool CancelAtPeriodEnd,
        long VersionUs);
}

internal sealed record FloorAck(string Outcome);

internal sealed record FloorSubscriptionResponse(KavachSubscription? Subscription);

internal sealed record FloorStats(long Deliveries, long Applied, long Duplicates, long Stale, double CpuSeconds);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(FloorAck))]
[JsonSerializable(typeof(FloorSubscriptionResponse))]
[JsonSerializable(typeof(FloorStats))]
internal sealed partial class FloorJsonContext : JsonSerializerContext;
