using KavachPolar.Testing.Api;
using KavachPolar.Testing.Checkout;
using KavachPolar.Testing.Control;
using KavachPolar.Testing.State;
using KavachPolar.Testing.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KavachPolar.Testing;

/// <summary>
/// A local, in-process Polar: the REST API under <c>{BaseUrl}v1/</c>, the hosted checkout page, signed webhook
/// delivery with Polar's retries, and a controllable clock. Start one per test (or per test class) with
/// <see cref="StartAsync"/> and point the code under test at <see cref="BaseUrl"/> with <see cref="AccessToken"/>.
/// </summary>
/// <remarks>
/// <para>All members are thread-safe. Every state change emits its webhook events synchronously, in Polar's order;
/// delivery happens in the background. Use <see cref="WaitForDeliveriesAsync"/> before asserting on a receiver.</para>
/// <para>The same controls are served over HTTP under <c>{BaseUrl}_emulator/</c> for the standalone tool
/// (<c>KavachPolar.Emulator --help</c> lists them). They need no token: bind the emulator to loopback only.</para>
/// </remarks>
public sealed partial class PolarEmulator : IAsyncDisposable
{
    private static readonly EmulatorProductDefinition[] DemoProducts =
    [
        new("Pro", 1900) { Id = "6b0e4b3c-1c2d-4f6e-8a9b-1d2e3f4a5b6c", Description = "Everything you need to ship.", BenefitIds = { BenefitCatalog.DownloadsId, BenefitCatalog.BetaFeaturesId, BenefitCatalog.LicenseKeyId } },
        new("Team", 4900)
        {
            Id = "7c1f5c4d-2d3e-4a7f-9bac-2e3f4a5b6c7d", Description = "Pro for your whole team.",
            BenefitIds = { BenefitCatalog.DownloadsId, BenefitCatalog.BetaFeaturesId, BenefitCatalog.LicenseKeyId, BenefitCatalog.PrioritySupportId, BenefitCatalog.DiscordId, BenefitCatalog.GitHubId },
        },
        new("Pro Yearly", 19000, "year") { Id = "8d2a6d5e-3e4f-4b8a-8cbd-3f4a5b6c7d8e", Description = "Pro, billed yearly.", BenefitIds = { BenefitCatalog.DownloadsId, BenefitCatalog.BetaFeaturesId, BenefitCatalog.LicenseKeyId } },
        new("Pro Trial", 1900)
        {
            Id = "9e3b7e6f-4f5a-4c9b-9dce-4a5b6c7d8e9f", Description = "Pro with a 14-day free trial.", TrialInterval = "day", TrialIntervalCount = 14,
            BenefitIds = { BenefitCatalog.DownloadsId, BenefitCatalog.BetaFeaturesId },
        },
        EmulatorProductDefinition.OneTime("Pro Lifetime", 29900).With(DemoLifetimeProductId, "Pro forever, paid once.", BenefitCatalog.DownloadsId, BenefitCatalog.BetaFeaturesId, BenefitCatalog.LicenseKeyId),
        EmulatorProductDefinition.OneTime("Template Pack", 2900).With(DemoAddOnProductId, "An add-on: 50 extra templates, paid once.", BenefitCatalog.DownloadsId),
    ];

    /// <summary>The demo catalogue's one-time lifetime product, "Pro Lifetime" ($299, the Pro benefits).</summary>
    public const string DemoLifetimeProductId = "af4c8f70-5a6b-4dac-8edf-5b6c7d8e9fa1";

    /// <summary>The demo catalogue's one-time add-on, "Template Pack" ($29, the Downloads benefit), which a subscriber can buy too.</summary>
    public const string DemoAddOnProductId = "b05d9a81-6b7c-4ebd-9fe0-6c7d8e9fa0b2";

    /// <summary>
    /// The demo catalogue's <c>meter_credit</c> benefit "AI tokens included" on "Pro" and "Team", present only with
    /// <see cref="PolarEmulatorOptions.DemoMeterCredits"/>.
    /// </summary>
    public const string DemoMeterCreditBenefitId = BenefitCatalog.MeterCreditId;

    /// <summary>The demo products; with meter credits, "Pro" and "Team" carry the credit benefit too (copies: the array stays as is).</summary>
    private static IList<EmulatorProductDefinition> DemoCatalogue(int meterCredits)
    {
        if (meterCredits <= 0)
        {
            return DemoProducts;
        }

        var products = new List<EmulatorProductDefinition>(DemoProducts.Length);
        foreach (var d in DemoProducts)
        {
            var copy = d.IsRecurring ? new EmulatorProductDefinition(d.Name, d.PriceAmount, d.RecurringInterval!) : EmulatorProductDefinition.OneTime(d.Name, d.PriceAmount);
            copy.Id = d.Id;
            copy.Description = d.Description;
            copy.Currency = d.Currency;
            copy.RecurringIntervalCount = d.RecurringIntervalCount;
            copy.TrialInterval = d.TrialInterval;
            copy.TrialIntervalCount = d.TrialIntervalCount;
            foreach (var b in d.BenefitIds)
            {
                copy.BenefitIds.Add(b);
            }

            foreach (var (k, v) in d.Metadata)
            {
                copy.Metadata[k] = v;
            }

            if (d.Name is "Pro" or "Team")
            {
                copy.BenefitIds.Add(BenefitCatalog.MeterCreditId);
            }

            products.Add(copy);
        }

        return products;
    }

    /// <summary>The HTTP control routes served under <c>{BaseUrl}_emulator/</c>, one per line, for help texts.</summary>
    public const string ControlRoutes = """
          GET  /_emulator/                                    base URL, organization, products, endpoints
          POST /_emulator/time/advance                        {"days": 31} or {"seconds": 3600}
          POST /_emulator/checkouts/{id}/pay                  {"email": "...", "name": "..."} (both optional)
          POST /_emulator/subscriptions/{id}/cancel           ?at_period_end=false revokes now
          POST /_emulator/subscriptions/{id}/uncancel
          POST /_emulator/subscriptions/{id}/revoke
          POST /_emulator/subscriptions/{id}/fail-renewal     clock to period end, renewal charge declined: past_due
          POST /_emulator/subscriptions/{id}/decline-payments ?declined=false lets charges through again
          POST /_emulator/subscriptions/{id}/recover          payment retried now and paid: past_due -> active
          GET  /_emulator/events                              every webhook event (one per endpoint)
          POST /_emulator/events/{webhook-id}/redeliver
          GET  /_emulator/deliveries                          every delivery attempt
          POST /_emulator/webhook-endpoints                   {"url": "...", "secret"?: "...", "signing"?: "legacy"|"standard", "events"?: [...]}
          POST /_emulator/webhook-endpoints/{id}/enable       ?enabled=false disables it, as Polar does after ten failures
          POST /_emulator/access-tokens                       {"scopes": ["subscriptions:read", ...]}: a token with only these
          POST /_emulator/benefit-grants/{id}/link            {"account_id": "..."}: the customer links Discord/GitHub in the portal
          POST /_emulator/orders/{id}/refund                  {"amount"?: cents (all that is left), "reason"?: "customer_request", "revoke_benefits"?: false}
          POST /_emulator/faults                              {"method": "GET", "path_prefix": "/v1/subscriptions/", "status": 429, "count"?: 1, "retry_after"?: 2}
        """;

    private readonly WebApplication _app;
    private readonly EmulatorStore _store;
    private readonly WebhookDispatcher _dispatcher;
    private readonly FaultInjector _faults = new();
    private readonly PolarApi _api;
    private readonly HostedPages _pages;
    private readonly ControlApi _control;
    private int _disposed;

    private PolarEmulator(PolarEmulatorOptions options, WebApplication app)
    {
        _app = app;
        AccessToken = options.AccessToken;
        OrganizationId = options.OrganizationId;
        var clock = new EmulatorClock(options.TimeProvider ?? TimeProvider.System);
        _dispatcher = new WebhookDispatcher(options, clock);
        _store = new EmulatorStore(options.OrganizationId, options.AllowMultipleSubscriptions, clock, options.Products.Count > 0 ? options.Products : DemoCatalogue(options.DemoMeterCredits), _dispatcher.Publish);
        var benefits = options.Benefits.Count > 0 || options.Products.Count > 0 ? options.Benefits : BenefitCatalog.DemoBenefits(options.DemoMeterCredits, DemoMeterId);
        _store.ConfigureBenefits([.. benefits.Select(b => BenefitCatalog.ToRecord(b, _store.CreatedAt))], options.BenefitRevocationGracePeriodDays, options.MemberModel);
        _store.SeedMeters(options.Meters.Count > 0 ? options.Meters : DemoMeters);
        _store.InvoiceGenerationDelay = options.InvoiceGenerationDelay;
        _api = new PolarApi(_store, options.AccessToken, _faults, _dispatcher);
        // A real-time timer (not the transport clock's: a test clock's timers are its own business): recomputes fall due as the clock moves.
        _meterTimer = TimeProvider.System.CreateTimer(_ => _store.RunDueMeterJobs(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _pages = new HostedPages(_store);
        _control = new ControlApi(this);
    }

    /// <summary>The emulator's root, with a trailing slash; the API is at <c>{BaseUrl}v1/...</c>.</summary>
    public Uri BaseUrl => _store.BaseUrl;

    /// <summary>The only bearer token the API accepts.</summary>
    public string AccessToken { get; }

    /// <summary>The organization that owns every object.</summary>
    public string OrganizationId { get; }

    /// <summary>The products on offer.</summary>
    public IReadOnlyList<EmulatorProduct> Products => _store.PublicProducts;

    /// <summary>The benefits the organization offers.</summary>
    public IReadOnlyList<EmulatorBenefit> Benefits => _store.PublicBenefits;

    /// <summary>Every benefit grant as it is now, in creation order (revoked and failed ones included).</summary>
    public IReadOnlyList<EmulatorBenefitGrant> BenefitGrants => _store.PublicGrants;

    /// <summary>Every customer, oldest first.</summary>
    public IReadOnlyList<EmulatorCustomer> Customers => _store.PublicCustomers;

    /// <summary>The registered webhook endpoints.</summary>
    public IReadOnlyList<EmulatorWebhookEndpoint> WebhookEndpoints => _dispatcher.Endpoints;

    /// <summary>Every delivery attempt so far, in the order they completed.</summary>
    public IReadOnlyList<EmulatorDelivery> Deliveries => _dispatcher.Deliveries;

    /// <summary>Every webhook event so far (one per endpoint and occurrence), in the order they were emitted.</summary>
    public IReadOnlyList<EmulatorWebhookEvent> Events => _dispatcher.Events;

    /// <summary>The events held back by <see cref="HoldDeliveries"/>, in emission order.</summary>
    public IReadOnlyList<EmulatorWebhookEvent> HeldEvents => _dispatcher.HeldEvents;

    /// <summary>The business clock: the time provider plus what <see cref="AdvanceTimeAsync"/> added.</summary>
    public DateTimeOffset UtcNow => _store.Read(s => s.Now);

    /// <summary>Starts an emulator listening on <see cref="PolarEmulatorOptions.Urls"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static async Task<PolarEmulator> StartAsync(PolarEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PolarEmulatorOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.AccessToken, nameof(options));
        if (!Ids.IsUuid4(options.OrganizationId))
        {
            throw new ArgumentException("OrganizationId must be a UUID version 4.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.WebhookMaxAttempts, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.BenefitRevocationGracePeriodDays, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.WebhookTimeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InvoiceGenerationDelay, TimeSpan.Zero, nameof(options));
        if (options.Products.FirstOrDefault(p => !p.IsRecurring && p.TrialInterval is not null) is { } trialOnce)
        {
            throw new ArgumentException($"Product '{trialOnce.Name}' is one-time and has a trial; Polar's trials are for subscriptions only.", nameof(options));
        }

        ValidateMeters(options);
        if (options.DemoMeterCredits < 0)
        {
            throw new ArgumentException($"DemoMeterCredits is {options.DemoMeterCredits}; it must be 0 or more.", nameof(options));
        }

        if (options.DemoMeterCredits > 0 && (options.Products.Count > 0 || options.Benefits.Count > 0))
        {
            throw new ArgumentException("DemoMeterCredits adds credits to the demo catalogue only; with Products or Benefits of your own, add a meter_credit benefit to them instead.", nameof(options));
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls);
        builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        var app = builder.Build();
        var emulator = new PolarEmulator(options, app);
        app.Run(emulator.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await emulator.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        emulator._store.BaseUrl = new Uri(app.Urls.First().TrimEnd('/') + "/");
        return emulator;
    }

    /// <summary>
    /// Registers a webhook endpoint. It receives events emitted from now on (Polar sends nothing retroactively).
    /// </summary>
    /// <param name="url">Where to POST events. Unlike Polar, http and loopback URLs are accepted.</param>
    /// <param name="secret">The signing secret. When null, one is generated in the form Polar used for the mode: legacy
    /// endpoints get <c>whsec_</c> and 43 alphanumerics (<c>generate_token</c>), standard ones <c>whsec_</c> and the base64 of 32 random bytes.</param>
    /// <param name="mode">How Polar derives the HMAC key from the secret.</param>
    /// <param name="events">The event types to receive (Polar's names, e.g. <c>subscription.revoked</c>); all when null.</param>
    /// <exception cref="ArgumentException">An event type Polar does not have.</exception>
    public EmulatorWebhookEndpoint AddWebhookEndpoint(Uri url, string? secret = null, PolarWebhookSigningMode mode = PolarWebhookSigningMode.Legacy, IEnumerable<string>? events = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        var types = events?.ToList();
        if (types?.FirstOrDefault(t => !WebhookEventTypes.All.Contains(t)) is { } unknown)
        {
            throw new ArgumentException($"Polar has no webhook event type '{unknown}'.", nameof(events));
        }

        secret ??= mode == PolarWebhookSigningMode.Standard ? PolarWebhookSigner.CreateStandardSecret() : Ids.NewToken("whsec_");
        var endpoint = new EmulatorWebhookEndpoint(Ids.NewUuid(), url, secret, mode,
            types is null ? null : new HashSet<string>(types, StringComparer.Ordinal))
        {
            CreatedAt = _store.Read(s => s.Now),
        };
        _dispatcher.AddEndpoint(endpoint);
        return endpoint;
    }

    /// <summary>
    /// Creates another organization access token of this organization that holds only <paramref name="scopes"/>, as
    /// Polar's dashboard does (Settings, Developers, New token). A route the token has none of the scopes for answers
    /// as Polar does: 403 <c>{"error": "insufficient_scope", ...}</c> with a <c>WWW-Authenticate</c> challenge naming
    /// the scopes, after routing and before the route validates its input. <see cref="AccessToken"/> holds every scope.
    /// </summary>
    /// <param name="scopes">Polar's scope names, e.g. <c>subscriptions:read</c>, <c>webhooks:read</c>.</param>
    /// <returns>The token (<c>polar_oat_...</c>).</returns>
    /// <exception cref="ArgumentException">A scope Polar does not have.</exception>
    public string CreateAccessToken(IEnumerable<string> scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var set = new HashSet<string>(scopes, StringComparer.Ordinal);
        if (set.FirstOrDefault(s => !Scopes.IsKnown(s)) is { } unknown)
        {
            throw new ArgumentException($"Polar has no scope '{unknown}'.", nameof(scopes));
        }

        return _api.AddToken(set);
    }

    /// <summary>Re-enables an endpoint Polar's failure rule disabled, or disables one.</summary>
    /// <exception cref="KeyNotFoundException">No such endpoint.</exception>
    public void EnableWebhookEndpoint(string endpointId, bool enabled = true) => _dispatcher.SetEnabled(endpointId, enabled);

    /// <summary>
    /// Does exactly what the hosted page's Pay button does: confirms the checkout,
    /// links the customer given at creation or else reuses the customer with this email as-is or creates one (with the
    /// checkout's external customer id), creates the subscription (trialing when a trial applies) and its paid first order,
    /// and emits the events in Polar's order.
    /// </summary>
    /// <param name="checkoutId">The checkout id.</param>
    /// <param name="email">The email typed on the page; ignored when a customer is linked (the field is locked). Defaults to the checkout's <c>customer_email</c>.</param>
    /// <param name="name">The name typed on the page; defaults to the checkout's <c>customer_name</c>.</param>
    /// <param name="cancellationToken">Unused; the operation is synchronous.</param>
    /// <exception cref="PolarEmulatorException">Polar would refuse: unknown, expired or already paid checkout, no or invalid email,
    /// 403 "You already have an active subscription." (see <see cref="PolarEmulatorOptions.AllowMultipleSubscriptions"/>),
    /// 409 <c>CheckoutCustomerDeleted</c>, or 422 <c>CheckoutCustomerExternalIdMismatch</c>.</exception>
    public Task<EmulatorPaymentResult> PayCheckoutAsync(string checkoutId, string? email = null, string? name = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(Control(() => _store.Pay(checkoutId, email, name)));

    /// <summary>Waits until no delivery is queued, waiting for a retry or in flight. Held events do not count.</summary>
    public Task WaitForDeliveriesAsync(CancellationToken cancellationToken = default) => _dispatcher.WaitForIdleAsync(cancellationToken);

    /// <summary>
    /// Moves the business clock forward and plays what falls due, each at its own instant and in time order:
    /// renewals (<c>subscription.cycled</c>, <c>updated</c>, <c>order.created</c>/<c>updated</c>/<c>paid</c>; when
    /// <see cref="DeclinePayments"/> is on, <c>order.created</c> is followed by <c>updated</c> + <c>past_due</c>), trial
    /// conversions (the same, without <c>subscription.active</c>), scheduled cancellations (<c>updated</c>, <c>canceled</c>
    /// again, <c>revoked</c>), scheduled pauses (<c>updated</c>, <c>paused</c>) and automatic resumptions (<c>updated</c>,
    /// <c>resumed</c>, the order), dunning retries 2, 7, 14 and 21 days after a failed renewal (silent while the charge is
    /// declined; a retry that goes through makes the subscription active again; after the last one it is revoked and
    /// its order voided) and checkout expiry (<c>checkout.expired</c>). Webhook timestamps keep following the transport clock.
    /// </summary>
    public Task AdvanceTimeAsync(TimeSpan by, CancellationToken cancellationToken = default)
    {
        _store.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>Cancels at period end (<c>updated</c> + <c>canceled</c>) or, with <paramref name="atPeriodEnd"/> false, revokes now.</summary>
    /// <exception cref="PolarEmulatorException">404, or 403 <c>AlreadyCanceledSubscription</c>.</exception>
    public Task CancelSubscriptionAsync(string subscriptionId, bool atPeriodEnd = true, CancellationToken cancellationToken = default) =>
        Run(() => _store.Cancel(subscriptionId, atPeriodEnd));

    /// <summary>Undoes a scheduled cancellation (<c>updated</c> + <c>uncanceled</c>).</summary>
    /// <exception cref="PolarEmulatorException">404; 400 <c>BadRequest</c> when no cancellation is scheduled; 410
    /// <c>ResourceUnavailable</c> when the subscription has ended.</exception>
    public Task UncancelSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken = default) =>
        Run(() => _store.Uncancel(subscriptionId));

    /// <summary>Revokes now (<c>updated</c> + <c>canceled</c> + <c>revoked</c>), as <c>DELETE /v1/subscriptions/{id}</c>.</summary>
    /// <exception cref="PolarEmulatorException">404, or 403 <c>AlreadyCanceledSubscription</c>.</exception>
    public Task RevokeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken = default) =>
        Run(() => _store.Cancel(subscriptionId, atPeriodEnd: false));

    /// <summary>
    /// The renewal charge fails: turns <see cref="DeclinePayments"/> on for the subscription and moves the business clock
    /// to its current period end (playing everything that falls due before, as <see cref="AdvanceTimeAsync"/> does). There,
    /// as in Polar, the period advances first (<c>subscription.cycled</c>, <c>updated</c> with the new period), the cycle
    /// order is created pending (<c>order.created</c>), then the subscription becomes <c>past_due</c> (<c>updated</c> +
    /// <c>past_due</c>). Dunning then retries 2, 7, 14 and 21 days later and revokes the subscription after the last
    /// failure; <see cref="RecoverRenewalAsync"/> makes the payment go through now.
    /// </summary>
    /// <exception cref="PolarEmulatorException">404; 403 when the subscription is not active or trialing, or is not charged
    /// at its period end (a cancellation or pause is scheduled, or it is free).</exception>
    public Task FailRenewalAsync(string subscriptionId, CancellationToken cancellationToken = default) =>
        Run(() => _store.FailRenewal(subscriptionId));

    /// <summary>
    /// The customer fixed their payment method and the pending renewal is retried now, as Polar does when a customer saves
    /// a new default payment method: <c>past_due</c> back to <c>active</c> (<c>updated</c> + <c>active</c>), then the
    /// order is paid (<c>order.updated</c>, <c>order.paid</c>). Turns <see cref="DeclinePayments"/> off.
    /// </summary>
    /// <exception cref="PolarEmulatorException">404, or 403 when the subscription is not past due.</exception>
    public Task RecoverRenewalAsync(string subscriptionId, CancellationToken cancellationToken = default) =>
        Run(() => _store.RecoverPayment(subscriptionId));

    /// <summary>
    /// Makes the subscription's charges fail from now on (renewals at period end and dunning retries), or, with
    /// <paramref name="declined"/> false, go through again, so that the next scheduled dunning retry recovers it.
    /// Nothing is sent until a charge happens; use <see cref="AdvanceTimeAsync"/> to reach it.
    /// </summary>
    /// <exception cref="PolarEmulatorException">404.</exception>
    public void DeclinePayments(string subscriptionId, bool declined = true) => Control(() =>
    {
        _store.DeclinePayments(subscriptionId, declined);
        return 0;
    });

    /// <summary>
    /// Sends an event again (same <c>webhook-id</c>, fresh timestamp and signature), as Polar's redelivery does. The
    /// attempt count goes on from where it stopped: an event that already used <see cref="PolarEmulatorOptions.WebhookMaxAttempts"/>
    /// gets one attempt and no retries. A disabled endpoint's redelivery is skipped.
    /// </summary>
    /// <param name="eventId">The <c>webhook-id</c>.</param>
    /// <param name="cancellationToken">Unused.</param>
    /// <exception cref="KeyNotFoundException">No such event.</exception>
    public Task RedeliverAsync(string eventId, CancellationToken cancellationToken = default)
    {
        _dispatcher.Redeliver(eventId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Holds every new event back instead of delivering it, until <see cref="ReleaseDeliveries"/>: for testing
    /// out-of-order and duplicate deliveries, which Polar can produce.
    /// </summary>
    public void HoldDeliveries() => _dispatcher.Hold();

    /// <summary>
    /// Stops holding and delivers the held events: in emission order, or in the order <paramref name="arrange"/>
    /// returns. An event returned twice is delivered twice (same <c>webhook-id</c>); one left out is dropped
    /// (<see cref="EmulatorWebhookEventStatus.Skipped"/>). First attempts stay in the returned order per endpoint.
    /// </summary>
    public void ReleaseDeliveries(Func<IReadOnlyList<EmulatorWebhookEvent>, IEnumerable<EmulatorWebhookEvent>>? arrange = null) =>
        _dispatcher.Release(arrange);

    /// <summary>
    /// Makes the next <paramref name="count"/> API requests whose method is <paramref name="method"/> and whose path starts
    /// with <paramref name="pathPrefix"/> answer as Polar does for <paramref name="statusCode"/>: 429 with an empty body and
    /// <c>retry-after</c> (1 s unless <paramref name="retryAfter"/> says otherwise); 401 with the <c>invalid_token</c> body;
    /// 403 <c>insufficient_scope</c>; 400 <c>BadRequest</c>; 402 <c>PaymentFailed</c>; 404 <c>ResourceNotFound</c>;
    /// 409 <c>CheckoutCustomerDeleted</c> (a 409 Polar really raises; its <c>SubscriptionLocked</c> is declared but never
    /// raised); 422 <c>PolarRequestValidationError</c> with one <c>value_error</c>;
    /// 500 <c>Internal Server Error</c> as text; other 5xx an HTML gateway page; any other status a <c>PolarError</c> body.
    /// Faults apply where Polar's rate limiter sits: after the <c>Polar-Version</c> check, CORS and the body-size check
    /// (411, 413), before the bearer token is looked at and before routing. Path prefixes start with a slash, e.g.
    /// <c>/v1/subscriptions/</c>.
    /// </summary>
    public void InjectFault(HttpMethod method, string pathPrefix, int statusCode, int count = 1, TimeSpan? retryAfter = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentException.ThrowIfNullOrEmpty(pathPrefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _faults.Add(new InjectedFault(method, pathPrefix, statusCode, count, retryAfter));
    }

    /// <summary>Creates a customer as <c>POST /v1/customers/</c> does (emits <c>customer.created</c> and <c>customer.state_changed</c>).</summary>
    /// <exception cref="PolarEmulatorException">422: invalid email, or the email or external id is taken.</exception>
    public EmulatorCustomer CreateCustomer(string email, string? name = null, string? externalId = null) => Control(() =>
    {
        var errors = new ValidationErrors();
        var valid = InputRules.Email(System.Text.Json.Nodes.JsonValue.Create(email), ValidationErrors.Loc("body", "individual", "email"), errors);
        if (valid is null)
        {
            throw PolarApiException.Validation("RequestValidationError", errors);
        }

        var json = _store.CreateCustomer(valid, name, externalId, [], null);
        return new EmulatorCustomer(json["id"]!.GetValue<string>(), valid, name, externalId);
    });

    /// <summary>
    /// Deletes a customer as <c>DELETE /v1/customers/{id}</c> does: a soft delete that frees its external id (kept in
    /// its metadata as <c>__external_id</c>), revokes its active, trialing and past-due subscriptions (with their webhooks)
    /// and hides it from every look-up. A checkout already linked to it can no longer be paid (409 <c>CheckoutCustomerDeleted</c>).
    /// </summary>
    /// <exception cref="PolarEmulatorException">404.</exception>
    public void DeleteCustomer(string customerId) => Control(() =>
    {
        _store.DeleteCustomer(customerId);
        return 0;
    });

    /// <summary>
    /// The customer links a Discord or GitHub account to a grant in the customer portal (Polar's
    /// <c>PATCH /v1/customer-portal/benefit-grants/{id}</c> with <c>properties.account_id</c>), and Polar's
    /// <c>benefit.update</c> job grants it again: a grant that failed with "action required" becomes granted
    /// (<c>benefit_grant.updated</c>, then <c>customer.state_changed</c>).
    /// </summary>
    /// <param name="grantId">The grant id.</param>
    /// <param name="accountId">The outside account's id.</param>
    /// <param name="cancellationToken">Unused; the operation is synchronous.</param>
    /// <exception cref="PolarEmulatorException">404 for an unknown grant; 403 <c>NotPermitted</c> for a revoked grant;
    /// 422 when the grant's benefit links no account.</exception>
    public Task LinkBenefitAccountAsync(string grantId, string accountId, CancellationToken cancellationToken = default) =>
        Run(() => _store.LinkBenefitAccount(grantId, accountId));

    /// <summary>The full key behind a license key grant's <c>license_key_id</c> (its <c>display_key</c> is masked), or null.</summary>
    public string? GetLicenseKey(string licenseKeyId) => _store.LicenseKey(licenseKeyId);

    /// <summary>The subscription as <c>GET /v1/subscriptions/{id}</c> returns it (compact JSON).</summary>
    /// <exception cref="PolarEmulatorException">404.</exception>
    public string GetSubscriptionJson(string subscriptionId) => Control(() => Json.PolarJson.Serialize(_store.GetSubscription(subscriptionId)));

    /// <summary>The customer state as <c>GET /v1/customers/{id}/state</c> returns it (compact JSON).</summary>
    /// <exception cref="PolarEmulatorException">404.</exception>
    public string GetCustomerStateJson(string customerId) => Control(() => Json.PolarJson.Serialize(_store.GetCustomer(customerId, external: false, state: true)));

    /// <summary>
    /// Refunds an order from Polar's dashboard, as <c>POST /v1/refunds/</c> does, with the same checks and events:
    /// <c>refund.created</c>, <c>order.updated</c> (<c>partially_refunded</c> or <c>refunded</c>), <c>order.refunded</c>
    /// (partial refunds too), the order's benefit grants revoked when <paramref name="revokeBenefits"/> (one-time orders
    /// only), then <c>refund.updated</c>. Refunding a subscription's order neither revokes its benefits nor ends it.
    /// </summary>
    /// <param name="orderId">The order id.</param>
    /// <param name="amount">Cents to refund; all that is left to refund when null.</param>
    /// <param name="reason">Polar's reason: <c>duplicate</c>, <c>fraudulent</c>, <c>customer_request</c>,
    /// <c>service_disruption</c>, <c>satisfaction_guarantee</c> or <c>other</c>.</param>
    /// <param name="revokeBenefits">Revoke the order's benefit grants now (a one-time order's only).</param>
    /// <param name="cancellationToken">Unused; the operation is synchronous.</param>
    /// <returns>The refund as <c>POST /v1/refunds/</c> answers it (compact JSON).</returns>
    /// <exception cref="PolarEmulatorException">What Polar answers: 422 for an unknown order, a reason it does not have or
    /// an amount that is not above 0 or exceeds what is left, 403 <c>RefundedAlready</c>, 400
    /// <c>RevokeSubscriptionBenefitsProhibited</c>, 404 <c>RefundUnknownPayment</c> for an order nothing was charged for.</exception>
    public Task<string> RefundAsync(string orderId, long? amount = null, string reason = "customer_request", bool revokeBenefits = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        ArgumentNullException.ThrowIfNull(reason);
        return Task.FromResult(Control(() =>
        {
            var body = new System.Text.Json.Nodes.JsonObject
            {
                ["order_id"] = orderId,
                ["reason"] = reason,
                ["amount"] = amount ?? Math.Max(1, _store.RefundableAmount(orderId)),
                ["revoke_benefits"] = revokeBenefits,
            };
            var errors = new ValidationErrors();
            var input = OrderEndpoints.ValidateRefund(body, errors);
            if (errors.Count > 0 || input is null)
            {
                throw PolarApiException.Validation("RequestValidationError", errors);
            }

            return Json.PolarJson.Serialize(_store.CreateRefund(input));
        }));
    }

    /// <summary>The order as <c>GET /v1/orders/{id}</c> returns it (compact JSON).</summary>
    /// <exception cref="PolarEmulatorException">404.</exception>
    public string GetOrderJson(string orderId) => Control(() => Json.PolarJson.Serialize(_store.GetOrder(orderId)));

    /// <summary>Stops the server and the delivery workers. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _meterTimer.DisposeAsync().ConfigureAwait(false);
        await _dispatcher.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    internal EmulatorStore Store => _store;

    private readonly System.Collections.Concurrent.ConcurrentQueue<EmulatorApiRequest> _apiRequests = new();

    /// <summary>
    /// Every request the REST API (<c>/v1/...</c>) received, in arrival order, faults and refusals included: to check
    /// how many calls an app makes, or that it made none.
    /// </summary>
    public IReadOnlyList<EmulatorApiRequest> ApiRequests => [.. _apiRequests];

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/_emulator", StringComparison.Ordinal))
        {
            await _control.HandleAsync(context).ConfigureAwait(false);
        }
        else if (PolarApi.IsApiPath(path))
        {
            // Recorded before anything can refuse it, so refusals (411, 401, 404...) show up too.
            _apiRequests.Enqueue(new EmulatorApiRequest
            {
                Method = context.Request.Method,
                Path = path.Value ?? "",
                Query = context.Request.QueryString.Value ?? "",
                Headers = context.Request.Headers.ToDictionary(h => h.Key, h => string.Join(", ", h.Value.ToArray()), StringComparer.OrdinalIgnoreCase),
            });
            await _api.HandleAsync(context).ConfigureAwait(false);
        }
        else if (!await _pages.TryHandleAsync(context).ConfigureAwait(false))
        {
            await PolarApi.WriteNotFoundRouteAsync(context).ConfigureAwait(false);
        }
    }

    private static Task Run(Action action)
    {
        Control(() =>
        {
            action();
            return 0;
        });
        return Task.CompletedTask;
    }

    private static T Control<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (PolarApiException e)
        {
            throw new PolarEmulatorException(e.StatusCode, e.Body, $"Polar would answer {e.StatusCode}: {e.Body}");
        }
    }
}
