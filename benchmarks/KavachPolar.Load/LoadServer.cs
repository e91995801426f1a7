using System.Diagnostics;
using System.Security.Claims;
using System.Text.Encodings.Web;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KavachPolar.Load;

/// <summary>A host app as the README writes it, with header authentication for the load client.</summary>
internal static class LoadServer
{
    public const string Secret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";

    public static async Task<int> RunAsync(Arguments args)
    {
        // --sqlite <file>: the embedded default (SQLite, the general path), recreated; no PostgreSQL needed.
        var sqlite = args.Get("sqlite", "");
        var pg = args.Get("pg", Environment.GetEnvironmentVariable("KAVACH_TEST_PG") ?? "");
        if (pg.Length == 0 && sqlite.Length == 0)
        {
            Console.Error.WriteLine("--pg <connection string> (or KAVACH_TEST_PG) or --sqlite <file> is required");
            return 2;
        }

        var database = sqlite.Length > 0 ? "" : new NpgsqlConnectionStringBuilder(pg) { Database = "kavach_load", MaxPoolSize = 64 }.ConnectionString;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(args.Get("urls", "http://127.0.0.1:5095"));
        // --logging warning (default): console, Warning and above. template: what `dotnet new web` writes into
        // appsettings.json (Information, Microsoft.AspNetCore at Warning), as a host written from the README logs.
        // information: everything at Information, as WebApplication.CreateBuilder logs without an appsettings.json.
        builder.Logging.ClearProviders().AddConsole();
        switch (args.Get("logging", "warning"))
        {
            case "template":
                builder.Logging.SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
                break;
            case "information":
                builder.Logging.SetMinimumLevel(LogLevel.Information);
                break;
            default:
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                break;
        }

        if (sqlite.Length > 0)
        {
            builder.Services.AddDbContext<KavachPolarDbContext>(o => o.UseSqlite($"Data Source={sqlite}"));
        }
        else if (args.Get("pool", "false") == "true")
        {
            builder.Services.AddDbContextPool<KavachPolarDbContext>(o => o.UseNpgsql(database));
        }
        else
        {
            builder.Services.AddDbContext<KavachPolarDbContext>(o => o.UseNpgsql(database));
        }
        var callbacks = 0L;
        builder.Services.AddKavachPolar(o =>
        {
            o.AccessToken = args.Get("token", "polar_oat_load");
            o.WebhookSecret = args.Get("secret", Secret);
            o.ApiBaseUrl = new Uri(args.Get("polar", "http://127.0.0.1:9/"));
            // No Polar stands behind the load server: the start-up self-check would only report that.
            o.SelfCheck.Enabled = false;
            // --read-cache false: every GET reads the database (to measure reads without the cache).
            if (args.Get("read-cache", "true") == "false")
            {
                o.ReadCacheExpiry = TimeSpan.Zero;
            }
            // --callbacks false: no OnSubscriptionChange, so no outbox rows and no dispatcher work (to measure that work).
            if (args.Get("callbacks", "true") != "false")
            {
                o.OnSubscriptionChange = (_, _) =>
                {
                    Interlocked.Increment(ref callbacks);
                    return Task.CompletedTask;
                };
            }
        });
        builder.Services.AddAuthentication("Header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("Header", null);
        builder.Services.AddAuthorization();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapKavachPolar();
        // The same endpoint three times, for what the gate costs a request (compare's gate runs): without authorization
        // (authentication still runs, as for every request), with RequireAuthorization() (the framework's part), and
        // with RequireSubscription() (KavachPolar's gate, from the read cache for a subscribed user).
        app.MapGet("/_load/open", () => "ok");
        app.MapGet("/_load/authorized", () => "ok").RequireAuthorization();
        app.MapGet("/_load/gated", () => "ok").RequireSubscription();
        app.MapGet("/_load/stats", () =>
        {
            var p = Process.GetCurrentProcess();
            return Results.Json(new
            {
                workingSetMb = p.WorkingSet64 / 1024.0 / 1024.0,
                gcHeapMb = GC.GetGCMemoryInfo().HeapSizeBytes / 1024.0 / 1024.0,
                gen2 = GC.CollectionCount(2),
                callbacks = Interlocked.Read(ref callbacks),
                cpuSeconds = p.TotalProcessorTime.TotalSeconds,
            });
        });

        // --database existing: a second instance on the database another one recreated.
        var recreate = args.Get("database", "recreate") != "existing";
        if (recreate)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>();
            await db.Database.EnsureDeletedAsync();
            // --schema ensure-created: the tables without the webhook function (the general path, as a host that
            // creates its schema with EnsureCreated runs it). migrate (default): the migrations, function included.
            if (sqlite.Length > 0 || args.Get("schema", "migrate") == "ensure-created")
            {
                await db.Database.EnsureCreatedAsync();
            }
            else
            {
                await db.Database.MigrateAsync();
            }
        }

        Console.WriteLine($"serving on {args.Get("urls", "http://127.0.0.1:5095")}, database {(sqlite.Length > 0 ? sqlite : "kavach_load")} ({(recreate ? "recreated" : "existing")}), DbContext pooling {args.Get("pool", "false")}, read cache {args.Get("read-cache", "true")}, schema {args.Get("schema", "migrate")}, logging {args.Get("logging", "warning")}");
        await app.RunAsync();
        return 0;
    }

    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers["X-User"].ToString();
            if (user.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, user) };
            if (Request.Headers["X-Email"].ToString() is { Length: > 0 } email)
            {
                claims.Add(new Claim(ClaimTypes.Email, email));
            }

            var identity = new ClaimsIdentity(claims, "Header");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Header")));
        }
    }
}
