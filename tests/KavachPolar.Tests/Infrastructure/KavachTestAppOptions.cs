using KavachPolar.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// How <see cref="KavachTestApp.StartAsync(string, KavachTestAppOptions?)"/> shapes its host app; every property has the
/// default most tests want, so a test names only what it changes.
/// </summary>
public sealed record KavachTestAppOptions
{
    /// <summary>Polar's API base; by default a closed port, so a test that forgets its Polar fails fast. Set by the <see cref="PolarEmulator"/> overload.</summary>
    public Uri? PolarApi { get; init; }

    /// <summary>Runs after the test app's own OnSubscriptionChange is set, so it may replace it.</summary>
    public Action<KavachPolarOptions>? Configure { get; init; }

    /// <summary>Configuration entries added over the app's defaults (access token, webhook secret, API base, self-check off).</summary>
    public IDictionary<string, string?>? Settings { get; init; }

    /// <summary>The webhook secret in configuration and in <see cref="KavachTestApp.Signer"/>.</summary>
    public string Secret { get; init; } = KavachTestApp.DefaultSecret;

    /// <summary>Registers more services after KavachPolar and the test authentication.</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>Configures the DbContext instead of <c>UseNpgsql(connectionString)</c>.</summary>
    public Action<DbContextOptionsBuilder>? Database { get; init; }

    /// <summary>Whether the schema is created before the app starts (as the shipped migrations create it).</summary>
    public bool CreateSchema { get; init; } = true;

    /// <summary>Adds configuration sources after <see cref="Settings"/>.</summary>
    public Action<IConfigurationBuilder>? Configuration { get; init; }

    /// <summary>Adds middleware before authentication and the KavachPolar endpoints.</summary>
    public Action<WebApplication>? Pipeline { get; init; }

    /// <summary>Whether the created schema includes the webhook's one-round-trip function (PostgreSQL only).</summary>
    public bool FastPath { get; init; } = true;

    /// <summary>The host environment's name.</summary>
    public string Environment { get; init; } = "Development";
}
