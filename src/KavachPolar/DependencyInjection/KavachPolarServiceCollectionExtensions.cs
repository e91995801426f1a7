using KavachPolar;
using KavachPolar.Authorization;
using KavachPolar.Billing;
using KavachPolar.Callbacks;
using KavachPolar.Diagnostics;
using KavachPolar.Endpoints;
using KavachPolar.Health;
using KavachPolar.Options;
using KavachPolar.Polar;
using KavachPolar.Services;
using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using KavachPolar.Subscriptions;
using KavachPolar.Webhooks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Polly.Telemetry;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers KavachPolar.</summary>
public static class KavachPolarServiceCollectionExtensions
{
    /// <summary>
    /// Registers KavachPolar: options bound from the <c>KavachPolar</c> configuration section and then
    /// <paramref name="configure"/>, validated at start-up; the Polar API client; the webhook verifier
    /// and processor; the EF Core store (<see cref="KavachPolar.Storage.KavachPolarDbContext"/> unless
    /// <see cref="KavachPolarBuilder.AddEntityFrameworkStore{TContext}"/> says otherwise); and the
    /// background dispatcher of <see cref="KavachPolarOptions.OnSubscriptionChange"/>.
    /// </summary>
    /// <remarks>
    /// Register the DbContext yourself (<c>AddDbContext</c>). Calling this method twice is harmless:
    /// services are registered once, and each <paramref name="configure"/> runs in call order.
    /// </remarks>
    public static KavachPolarBuilder AddKavachPolar(this IServiceCollection services, Action<KavachPolarOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new KavachPolarBuilder(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(KavachPolarMarker)))
        {
            return builder;
        }

        services.AddSingleton<KavachPolarMarker>();

        // Configuration first, then every configure delegate (registered above or by later calls).
        services.AddOptions<KavachPolarOptions>().BindConfiguration(KavachPolarOptions.SectionName).ValidateOnStart();
        var bind = services.Last(d => d.ServiceType == typeof(IConfigureOptions<KavachPolarOptions>));
        services.Remove(bind);
        services.Insert(0, bind);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KavachPolarOptions>, KavachPolarOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<KavachPolarMetrics>();
        services.TryAddSingleton<CallbackSignal>();
        services.TryAddSingleton<CallbackDispatchSettings>();
        services.TryAddSingleton<SubscriptionChangeHandlers>();
        services.AddSingleton<IChangeHandlers>(sp => sp.GetRequiredService<SubscriptionChangeHandlers>());
        services.TryAddSingleton<BenefitChangeHandlers>();
        services.AddSingleton<IChangeHandlers>(sp => sp.GetRequiredService<BenefitChangeHandlers>());
        services.TryAddSingleton<CallbackKinds>();
        services.TryAddSingleton<KavachPolar.Benefits.BenefitGrantSynchronizer>();
        services.TryAddSingleton<KavachPolar.Benefits.CustomerStateTriggers>();
        services.TryAddTransient<BenefitReconciler>();
        services.AddHostedService<CustomerStateRefresher>();
        services.TryAddSingleton<KavachPolar.Orders.OrderSynchronizer>();
        services.TryAddTransient<OrderReconciler>();
        services.TryAddSingleton<ProductKinds>();
        services.TryAddSingleton<SubscriptionSynchronizer>();
        services.TryAddSingleton<BillingStore>();
        services.TryAddSingleton<WebhookProcessor>();
        services.TryAddSingleton<WebhookVerifierProvider>();
        services.TryAddSingleton<WebhookIntake>();
        services.TryAddSingleton<UserRateLimiter>();
        services.TryAddSingleton<PolarRequestBudget>();
        services.TryAddSingleton<ReconcileCoalescer>();
        services.TryAddScoped<IKavachDbContextAccessor, KavachDbContextAccessor<KavachPolarDbContext>>();
        // Every command of KavachPolarDbContext is KavachPolar's: logged at Debug instead of EF Core's Information, so a
        // host at the web template's levels does not write a console line per command (about ten per delivery on the
        // general path, inside the transaction that holds the customer's lock). Singleton, so a pooled context's
        // singleton options can use it; a host that wants the lines sets Microsoft.EntityFrameworkCore.Database.Command
        // to Debug. A host's own context (AddEntityFrameworkStore) keeps the levels its host gave it.
        services.ConfigureDbContext<KavachPolarDbContext>(QuietCommands, ServiceLifetime.Singleton);
        services.TryAddScoped<IKavachPolarSubscriptions, KavachPolarSubscriptionService>();
        services.TryAddTransient<CheckoutService>();
        AddSubscriptionGate(services);
        services.AddHostedService<CallbackDispatcher>();
        services.AddHostedService<CallbackKindDeclaration>();
        services.AddHostedService<WebhookEventRetention>();
        services.TryAddSingleton<DirectPostgres>();
        services.TryAddSingleton<KavachStore>();
        services.TryAddSingleton<SubscriptionCache>();
        services.TryAddSingleton<HeardChanges>();
        services.TryAddSingleton<SubscriptionReader>();
        services.TryAddSingleton<BenefitReader>();
        services.TryAddSingleton<OrderReader>();
        services.TryAddSingleton<IKavachPolarEntitlements, KavachPolarEntitlements>();
        services.TryAddSingleton<KavachPolar.Usage.UsageSignal>();
        services.TryAddSingleton<UsageCommitSignal>();
        services.TryAddSingleton<KavachPolar.Usage.UsageSendSettings>();
        services.TryAddSingleton<MeterReader>();
        services.TryAddScoped<IKavachPolarUsage, KavachPolarUsage>();
        services.AddHostedService<KavachPolar.Usage.UsageSender>();
        services.TryAddSingleton(CacheListener.Timing.Default);
        services.AddHostedService<CacheListener>();
        services.TryAddSingleton<CacheAnnouncer>();
        services.AddHostedService(sp => sp.GetRequiredService<CacheAnnouncer>());
        services.TryAddSingleton<PublicOriginWarning>();
        services.AddHostedService(sp => sp.GetRequiredService<PublicOriginWarning>());
        services.TryAddSingleton<WebhookDeliveryClock>();
        services.AddHostedService<WebhookSilenceMonitor>();
        services.AddHostedService<PolarSelfCheckService>();

        var polarClient = services.AddHttpClient<PolarApiClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptionsMonitor<KavachPolarOptions>>().CurrentValue;
                http.BaseAddress = PolarApiClient.ResolveBaseAddress(options);
                http.DefaultRequestHeaders.UserAgent.ParseAdd("KavachPolar/" + typeof(PolarApiClient).Assembly.GetName().Version?.ToString(3));
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            // HttpClientFactory's own request and header logging hands the raw Authorization header (the access
            // token) to structured log sinks at Trace level: KavachPolar logs its Polar calls itself, without it.
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // A redirect means a wrong path or host; following it would drop the bearer token.
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
        polarClient.AddStandardResilienceHandler(o =>
            {
                // Polar's 429 carries a Retry-After that can exceed any sensible wait inside a request:
                // it is answered to the caller (503 + Retry-After), not retried, and does not count
                // towards opening the circuit.
                o.Retry.ShouldHandle = args => ValueTask.FromResult(IsTransientButNotRateLimited(args.Outcome));
                o.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(IsTransientButNotRateLimited(args.Outcome));

                // Polar has no idempotency keys: a POST or PATCH is never retried.
                o.Retry.DisableForUnsafeHttpMethods();
                o.Retry.MaxRetryAttempts = 2;
                o.Retry.Delay = TimeSpan.FromMilliseconds(300);
                o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(8);
                o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(20);
                o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(30);
            });

        // Inside the retries, so that every attempt counts against this instance's budget of Polar calls; a refusal
        // looks like Polar's 429, which is never retried.
        polarClient.AddHttpMessageHandler(sp => sp.GetRequiredService<PolarRequestBudget>().CreateHandler());
        // IHttpClientFactory logs every request at Information ("Start processing HTTP request ..."), so a normal 404
        // look-up read like an error in a default host's log: PolarApiClient logs each call at Debug instead (event
        // 1006, absolute URL, status, time) and failures at Warning or Error.
        polarClient.RemoveAllLoggers();
        // The resilience pipeline reports every attempt too, at Information when it succeeded or failed for good
        // (a retried one is a Warning, and stays so): for Polar's client those are Debug, chained to the host's own
        // choice for every other pipeline.
        services.Configure<TelemetryOptions>(o =>
        {
            var host = o.SeverityProvider;
            o.SeverityProvider = args => args.Event is { EventName: "ExecutionAttempt", Severity: ResilienceEventSeverity.Information }
                && args.Source.PipelineName == PolarPipelineName
                    ? ResilienceEventSeverity.Debug
                    : host?.Invoke(args) ?? args.Event.Severity;
        });

        return builder;
    }

    // IHttpClientFactory names a typed client's pipeline "{client name}-{handler name}".
    private const string PolarPipelineName = nameof(PolarApiClient) + "-standard";

    /// <summary>
    /// The <see cref="KavachPolarPolicies.Subscribed"/> policy, its handler, and an authorization result handler that
    /// answers the gate's refusals as problems. The result handler wraps the one registered before (or the
    /// framework's default); one registered after <c>AddKavachPolar</c> replaces it, and refusals then go through it.
    /// </summary>
    /// <summary>KavachPolarDbContext's executed commands at Debug (see <see cref="AddKavachPolar"/>).</summary>
    private static void QuietCommands(Microsoft.EntityFrameworkCore.DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(w => w.Log((Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.CommandExecuted, Microsoft.Extensions.Logging.LogLevel.Debug)));

    private static void AddSubscriptionGate(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, EntitlementAuthorizationHandler>());
        services.Configure<AuthorizationOptions>(o => o.AddPolicy(KavachPolarPolicies.Subscribed, SubscriptionRequirement.Policy([])));

        var previous = services.LastOrDefault(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler));
        services.RemoveAll<IAuthorizationMiddlewareResultHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler>(sp => new EntitlementAuthorizationResultHandler(previous switch
        {
            null => new AuthorizationMiddlewareResultHandler(),
            { ImplementationInstance: IAuthorizationMiddlewareResultHandler instance } => instance,
            { ImplementationFactory: { } factory } => (IAuthorizationMiddlewareResultHandler)factory(sp),
            { ImplementationType: { } type } => (IAuthorizationMiddlewareResultHandler)ActivatorUtilities.CreateInstance(sp, type),
            _ => new AuthorizationMiddlewareResultHandler(),
        }));
    }

    private static bool IsTransientButNotRateLimited(Polly.Outcome<HttpResponseMessage> outcome) =>
        outcome.Result?.StatusCode != System.Net.HttpStatusCode.TooManyRequests && HttpClientResiliencePredicates.IsTransient(outcome);

    private sealed class KavachPolarMarker;
}
