using KavachPolar.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KavachPolar.Storage;

/// <summary>
/// Keeps <see cref="SubscriptionCache"/> true across instances on PostgreSQL: <c>LISTEN</c>s on the channel every
/// change to a user's subscriptions is announced on (<c>NOTIFY</c> in the same transaction as the change) and forgets
/// the users named. When the connection drops the cache stops serving; once reconnected it starts empty.
/// </summary>
internal sealed class SubscriptionCacheListener(
    IServiceScopeFactory scopes,
    SubscriptionCache cache,
    ILogger<SubscriptionCacheListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? connectionString;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IKavachDbContextAccessor>().Context;
            if (db.Database.ProviderName != "Npgsql.EntityFrameworkCore.PostgreSQL")
            {
                return; // One process: local commits keep the cache true.
            }

            connectionString = db.Database.GetConnectionString();
        }

        cache.SetListening(false);
        var listen = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, KeepAlive = 10, ApplicationName = "KavachPolar cache listener" }.ConnectionString;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(listen);
                connection.Notification += (_, e) => cache.Invalidate(e.Payload);
                await connection.OpenAsync(stoppingToken).ConfigureAwait(false);
                await using (var command = new NpgsqlCommand("LISTEN " + FastWebhookPath.Channel, connection))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                cache.SetListening(true);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                cache.SetListening(false);
                Log.CacheListenerFailed(logger, e.GetType().Name);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
