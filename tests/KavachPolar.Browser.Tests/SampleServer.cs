using KavachPolar.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KavachPolar.Browser.Tests;

/// <summary>
/// The sample app as a newcomer runs it (embedded Polar emulator, SQLite), in-process on a real Kestrel server on a
/// free loopback port so that the browser and the emulator's webhooks reach it, with its database in a temp folder.
/// </summary>
public sealed class SampleServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private SampleServer(WebApplication app, string directory, Uri baseUrl, LogCapture logs)
    {
        _app = app;
        _directory = directory;
        BaseUrl = baseUrl;
        Logs = logs;
    }

    /// <summary>Every log record the sample wrote, KavachPolar's included.</summary>
    public LogCapture Logs { get; }

    /// <summary>The sample's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The sample's root URL, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="settings">More command-line settings (<c>--Key=value</c>); later ones win.</param>
    public static async Task<SampleServer> StartAsync(CancellationToken cancellationToken, params string[] settings)
    {
        var directory = Directory.CreateTempSubdirectory("kavach-sample-").FullName;
        var logs = new LogCapture();
        var app = await SampleApp.BuildAsync(
        [
            "--environment=Development",
            "--contentRoot=" + SampleProjectDirectory(),
            "--urls=http://127.0.0.1:0",
            "--Database:Provider=sqlite",
            "--ConnectionStrings:Kavach=Data Source=" + Path.Combine(directory, "sample.db"),
            // Embedded mode unless the settings say otherwise, whatever the machine's environment says.
            "--KavachPolar:AccessToken=",
            .. settings,
        ], builder => builder.Logging.AddProvider(logs));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new SampleServer(app, directory, new Uri(address.TrimEnd('/') + "/"), logs);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a slow shutdown only leaves a temp folder behind.
        }
    }

    /// <summary>The sample's project folder (its wwwroot and appsettings), found from the test's output folder.</summary>
    private static string SampleProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "KavachPolar.Sample");
            if (File.Exists(Path.Combine(candidate, "KavachPolar.Sample.csproj")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("samples/KavachPolar.Sample was not found above " + AppContext.BaseDirectory);
    }
}
