using KavachPolar.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers KavachPolar's health check with ASP.NET Core's health checks.</summary>
public static class KavachPolarHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds KavachPolar's health check: <paramref name="failureStatus"/> (default Unhealthy) only when the database does
    /// not answer within <c>DatabaseTimeout</c>; Degraded when a backlog passes its threshold
    /// (<see cref="KavachPolar.KavachPolarOptions.Health"/>): the oldest change waiting for the change handlers, signed
    /// deliveries waiting for a replay, announcements to other instances not sent. Needs <c>AddKavachPolar()</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">What a database that does not answer reports; default Unhealthy.</param>
    /// <param name="tags">Tags to filter checks by (e.g. "ready").</param>
    /// <param name="timeout">How long the check may take; default none beyond <c>DatabaseTimeout</c>.</param>
    public static IHealthChecksBuilder AddKavachPolar(
        this IHealthChecksBuilder builder,
        string name = "kavach_polar",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => ActivatorUtilities.GetServiceOrCreateInstance<KavachPolarHealthCheck>(services),
            failureStatus,
            tags,
            timeout));
    }
}
