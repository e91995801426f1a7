using KavachPolar.Sample.Data;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KavachPolar.Sample.Hosting;

/// <summary>
/// Creates the database schema before the server accepts requests, then, once it listens, connects the
/// embedded Polar's webhooks to the sample and prints how the sample is set up and where to open it.
/// </summary>
internal sealed class SampleStartup(
    IServiceScopeFactory scopes,
    IServer server,
    SampleSettings settings,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<SampleStartup> logger,
    EmbeddedPolar? embeddedPolar = null) : IHostedLifecycleService
{
    private const string WebhookPath = "api/kavach/auth/polar/webhook";

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SampleDbContext>();
        if (embeddedPolar is not null && settings.DatabaseProvider == SampleDatabase.Sqlite)
        {
            // The emulator forgets its customers and subscriptions when the app stops; rows pointing at them
            // would only confuse the next run.
            await db.Database.EnsureDeletedAsync(cancellationToken);
        }
        else if (embeddedPolar is not null)
        {
            SampleLog.EmulatorWithPersistentDatabase(logger);
        }

        await db.Database.EnsureCreatedAsync(cancellationToken);
        await SampleDatabase.AddMissingColumnsAsync(db, settings.DatabaseProvider, cancellationToken);

        // EnsureCreated creates tables only: on PostgreSQL this adds the function that applies a webhook in one round
        // trip (nothing on SQLite).
        await db.Database.CreateKavachPolarFunctionsAsync(cancellationToken);
    }

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        var open = addresses.Count > 0 ? EmbeddedPolar.LoopbackFor(addresses[0]).AbsoluteUri.TrimEnd('/') : "(no address)";
        var database = SampleDatabase.Describe(settings.DatabaseProvider, settings.ConnectionString);
        if (embeddedPolar is not null)
        {
            var webhook = embeddedPolar.RegisterWebhookEndpoint(server, WebhookPath);
            SampleLog.StartedWithEmulator(logger, open, embeddedPolar.Emulator.BaseUrl, webhook, database);
        }
        else
        {
            var current = options.CurrentValue;
            var polar = current.ApiBaseUrl?.AbsoluteUri ?? (current.Sandbox ? "Polar SANDBOX (https://sandbox-api.polar.sh)" : "Polar PRODUCTION (https://api.polar.sh)");
            SampleLog.StartedWithPolar(logger, open, polar, WebhookPath, database);
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
