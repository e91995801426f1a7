using KavachPolar.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Endpoints;

/// <summary>
/// At start, outside Development, warns (4008) when the app maps KavachPolar's routes without
/// <see cref="KavachPolarOptions.PublicOrigin"/>: same-origin success URLs and the cross-site check then trust the
/// request's <c>Host</c>, which a client chooses unless the host filters it. A host that only uses the services (a job)
/// never builds success URLs or checks origins, and is not warned.
/// </summary>
internal sealed class PublicOriginWarning(IOptionsMonitor<KavachPolarOptions> options, IHostEnvironment environment, ILogger<PublicOriginWarning> logger) : IHostedService
{
    /// <summary>Set by <c>MapKavachPolar</c>, which runs before the host starts.</summary>
    public bool RoutesMapped { get; set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (RoutesMapped && !environment.IsDevelopment() && string.IsNullOrEmpty(options.CurrentValue.PublicOrigin))
        {
            Log.PublicOriginMissing(logger, environment.EnvironmentName);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
