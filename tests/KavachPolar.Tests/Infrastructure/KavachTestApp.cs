using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Net.Http.Headers;
using KavachPolar.Storage;
using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// A host app written the way the README says, served by Kestrel on 127.0.0.1, with KavachPolar on
/// real PostgreSQL and pointed at a Polar stand-in. Records every OnSubscriptionChange call. The schema is created as
/// the shipped migrations create it (tables and the webhook's one-round-trip function) unless <see cref="KavachTestAppOptions.FastPath"/> is false.
/// </summary>
public sealed class KavachTestApp : IAsyncDisposable
{
    public const string DefaultSecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";

    private readonly WebApplication _app;
    private readonly StrongBox<Func<KavachSubscriptionChange, bool>> _failCallback;

    private KavachTestApp(WebApplication app, Uri baseUrl, TestLogs logs, string secret, ConcurrentQueue<KavachSubscriptionChange> changes, StrongBox<Func<KavachSubscriptionChange, bool>> failCallback)
    {
        _app = app;
        BaseUrl = baseUrl;
        Logs = logs;
        Signer = new PolarWebhookSigner(secret);
        Client = new HttpClient { BaseAddress = baseUrl };
        Changes = changes;
        _failCallback = failCallback;
    }

    public Uri BaseUrl { get; }

    public Uri WebhookUrl => new(BaseUrl, "api/kavach/auth/polar/webhook");

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public TestLogs Logs { get; }

    public PolarWebhookSigner Signer { get; set; }

    public ConcurrentQueue<KavachSubscriptionChange> Changes { get; }

    /// <summary>Makes OnSubscriptionChange throw while it returns true.</summary>
    public Func<KavachSubscriptionChange, bool> FailCallback
    {
        get => _failCallback.Value!;
        set => _failCallback.Value = value;
    }

    /// <summary>Starts a host app on <paramref name="connectionString"/>, shaped by <paramref name="options"/> (defaults when null).</summary>
    public static async Task<KavachTestApp> StartAsync(string connectionString, KavachTestAppOptions? options = null)
    {
        options ??= new KavachTestAppOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = options.Environment });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var collector = new FakeLogCollector();
        var logs = new TestLogs(collector);
        builder.Logging.ClearProviders().AddProvider(new FakeLoggerProvider(collector)).SetMinimumLevel(LogLevel.Trace);

        var config = new Dictionary<string, string?>
        {
            ["KavachPolar:AccessToken"] = "polar_oat_test_token_0123456789",
            ["KavachPolar:WebhookSecret"] = options.Secret,
            ["KavachPolar:ApiBaseUrl"] = (options.PolarApi ?? new Uri("http://127.0.0.1:9/")).AbsoluteUri,
            // Its GETs would count in tests that count Polar calls; the self-check's own tests turn it on.
            ["KavachPolar:SelfCheck:Enabled"] = "false",
        };
        foreach (var (k, v) in options.Settings ?? new Dictionary<string, string?>())
        {
            config[k] = v;
        }

        builder.Configuration.AddInMemoryCollection(config);
        options.Configuration?.Invoke(builder.Configuration);

        // Ready before the host starts: its dispatcher may run a queued change before StartAsync returns.
        var changes = new ConcurrentQueue<KavachSubscriptionChange>();
        var failCallback = new StrongBox<Func<KavachSubscriptionChange, bool>>(_ => false);
        builder.Services.AddDbContext<KavachPolarDbContext>(o =>
        {
            if (options.Database is null)
            {
                o.UseNpgsql(connectionString);
            }
            else
            {
                options.Database(o);
            }
        });
        builder.Services.AddKavachPolar(o =>
        {
            o.OnSubscriptionChange = (change, _) =>
            {
                if (failCallback.Value!(change))
                {
                    throw new InvalidOperationException("callback failed on purpose");
                }

                changes.Enqueue(change);
                return Task.CompletedTask;
            };
            options.Configure?.Invoke(o);
        });
        builder.Services.AddAuthentication(o => o.DefaultScheme = "TestOrCookie")
            .AddPolicyScheme("TestOrCookie", null, o => o.ForwardDefaultSelector = ctx =>
                TestAuthenticationHandler.Handles(ctx.Request.Headers.Authorization.ToString())
                    ? TestAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null)
            .AddCookie(o => o.Events.OnRedirectToLogin = ctx =>
            {
                ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            });
        builder.Services.AddAuthorization();
        options.Services?.Invoke(builder.Services);

        var app = builder.Build();
        options.Pipeline?.Invoke(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/test/signin", async (HttpContext ctx, string user, string? email) =>
        {
            var identity = new System.Security.Claims.ClaimsIdentity(TestAuthenticationHandler.Claims(user, email, null), CookieAuthenticationDefaults.AuthenticationScheme);
            await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new System.Security.Claims.ClaimsPrincipal(identity));
            return Results.Ok();
        });
        app.MapKavachPolar();

        if (options.CreateSchema)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
            await context.Database.EnsureCreatedAsync();
            if (options.FastPath)
            {
                // What the shipped migration adds beside the tables, as the README tells an EnsureCreated host to add it:
                // the webhook's one-round-trip function (PostgreSQL only; nothing elsewhere).
                await context.Database.CreateKavachPolarFunctionsAsync();
            }
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KavachTestApp(app, new Uri(address + "/"), logs, options.Secret, changes, failCallback);
    }

    /// <summary>
    /// A host app pointed at <paramref name="polar"/> with its access token; <see cref="KavachTestAppOptions.Settings"/>
    /// add to that or override it, and <see cref="KavachTestAppOptions.PolarApi"/> is the emulator's.
    /// </summary>
    public static Task<KavachTestApp> StartAsync(string connectionString, PolarEmulator polar, KavachTestAppOptions? options = null)
    {
        options ??= new KavachTestAppOptions();
        var all = new Dictionary<string, string?> { ["KavachPolar:AccessToken"] = polar.AccessToken };
        foreach (var (k, v) in options.Settings ?? new Dictionary<string, string?>())
        {
            all[k] = v;
        }

        return StartAsync(connectionString, options with { PolarApi = polar.BaseUrl, Settings = all });
    }

    /// <summary>An API client signed in as <paramref name="userId"/> through the Authorization header.</summary>
    public HttpClient ClientFor(string userId, string? email = null, string? name = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Test", string.Join('|', new[] { userId, email ?? "", name ?? "" }.Select(Uri.EscapeDataString)));
        return client;
    }

    /// <summary>A browser-like client signed in with a real cookie.</summary>
    public async Task<HttpClient> BrowserForAsync(string userId, string? email = null)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        var client = new HttpClient(handler) { BaseAddress = BaseUrl };
        var response = await client.GetAsync($"test/signin?user={Uri.EscapeDataString(userId)}&email={Uri.EscapeDataString(email ?? "")}");
        response.EnsureSuccessStatusCode();
        return client;
    }

    /// <summary>Posts a body signed as Polar would sign it.</summary>
    public Task<HttpResponseMessage> PostWebhookAsync(byte[] body, string? webhookId = null, DateTimeOffset? timestamp = null, CancellationToken ct = default)
    {
        var request = Signer.CreateRequest(WebhookUrl, body, webhookId, timestamp);
        return Client.SendAsync(request, ct);
    }

    /// <summary>
    /// Delivers a webhook as Polar does: the same signed request again while the app answers 5xx (a first delivery on a
    /// cold instance of a loaded machine can outlast <c>WebhookProcessingTimeout</c>), for at most a minute. For tests
    /// whose subject is not the answer to one attempt; the final answer is returned and must be a success.
    /// </summary>
    public async Task<HttpResponseMessage> DeliverAsync(byte[] body, string? webhookId = null, CancellationToken ct = default)
    {
        webhookId ??= Guid.NewGuid().ToString();
        var timestamp = DateTimeOffset.UtcNow;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var response = await PostWebhookAsync(body, webhookId, timestamp, ct);
            if ((int)response.StatusCode < 500 || clock.Elapsed > TimeSpan.FromMinutes(1))
            {
                Assert.True(response.IsSuccessStatusCode, $"the webhook answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                return response;
            }

            // Polar's pause between retries of one delivery, not a wait for an event.
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }

    public async Task<T> WithDbAsync<T>(Func<KavachPolarDbContext, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<KavachPolarDbContext>());
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails after <paramref name="timeout"/> (default 15 s).</summary>
    public static Task EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null, string? because = null) =>
        Wait.UntilAsync(() => Task.FromResult(condition()), timeout ?? TimeSpan.FromSeconds(15), because);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
