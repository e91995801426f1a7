using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// A job or a command-line tool as the README writes one: KavachPolar's services without a host (so no hosted service
/// ever starts) and without a change handler, on the given database, pointed at <paramref name="polarApi"/>.
/// </summary>
public static class KavachJob
{
    /// <summary>Runs <paramref name="work"/> once on a fresh job's <see cref="IKavachPolarSubscriptions"/>, then disposes the job at once.</summary>
    public static async Task<T> RunAsync<T>(string connectionString, Func<IKavachPolarSubscriptions, Task<T>> work, Uri? polarApi = null, string accessToken = "polar_oat_job")
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddDbContext<KavachPolarDbContext>(o => o.UseNpgsql(connectionString));
        services.AddKavachPolar(o =>
        {
            o.AccessToken = accessToken;
            o.WebhookSecret = KavachTestApp.DefaultSecret;
            if (polarApi is not null)
            {
                o.ApiBaseUrl = polarApi;
            }
        });
        await using var job = services.BuildServiceProvider();
        await using var scope = job.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<IKavachPolarSubscriptions>());
    }
}
