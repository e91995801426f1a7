using System.Security.Claims;

namespace KavachPolar;

/// <summary>
/// Settings for KavachPolar, bound from the <c>KavachPolar</c> configuration section and then
/// from the delegate passed to <c>AddKavachPolar</c>.
/// </summary>
/// <remarks>
/// Options are read through <c>IOptionsMonitor</c>: changing <see cref="WebhookSecret"/> or
/// <see cref="WebhookSecrets"/> in a reloadable configuration source takes effect without a restart,
/// which is how a secret is rotated.
/// </remarks>
public sealed class KavachPolarOptions
{
    /// <summary>The configuration section bound by default: <c>KavachPolar</c>.</summary>
    public const string SectionName = "KavachPolar";

    /// <summary>
    /// Polar organization access token (<c>polar_oat_...</c>). Required. Configuration key
    /// <c>KavachPolar:AccessToken</c>.
    /// </summary>
    public string AccessToken { get; set; } = "";

    /// <summary>
    /// The webhook endpoint's secret as Polar's dashboard shows it (<c>whsec_...</c> or the older
    /// <c>polar_whs_...</c>). Required. Configuration key <c>KavachPolar:WebhookSecret</c>.
    /// Both of Polar's key derivations are accepted, so the secret is pasted as shown.
    /// </summary>
    public string WebhookSecret { get; set; } = "";

    /// <summary>
    /// Previous secrets still accepted while a secret is being rotated. Polar signs each delivery
    /// with one secret only, so keep the old one here until Polar's retries of older events are over
    /// (about 35 minutes). Configuration key <c>KavachPolar:WebhookSecrets</c>.
    /// </summary>
    public IList<string> WebhookSecrets { get; } = [];

    /// <summary>
    /// The Polar organization id. When set, webhook events of other organizations are acknowledged
    /// and ignored, and API look-ups are scoped to it. Configuration key <c>KavachPolar:OrganizationId</c>.
    /// </summary>
    public string? OrganizationId { get; set; }

    /// <summary>
    /// Use Polar's sandbox (<c>https://sandbox-api.polar.sh</c>) instead of production
    /// (<c>https://api.polar.sh</c>). Default <see langword="false"/>. Configuration key <c>KavachPolar:Sandbox</c>.
    /// </summary>
    public bool Sandbox { get; set; }

    /// <summary>
    /// Overrides the API host chosen by <see cref="Sandbox"/>, for a local Polar emulator or a proxy.
    /// Must be an absolute http or https URL. Configuration key <c>KavachPolar:ApiBaseUrl</c>.
    /// </summary>
    public Uri? ApiBaseUrl { get; set; }

    /// <summary>
    /// Called after commit whenever a user's current subscription changes (appears, changes, or
    /// ends). Runs at least once per change, in order per user; if it throws it is retried with
    /// back-off until it succeeds, always with the same <see cref="KavachSubscriptionChange"/>, so
    /// make it idempotent on <see cref="KavachSubscriptionChange.EventId"/>.
    /// </summary>
    public Func<KavachSubscriptionChange, CancellationToken, Task>? OnSubscriptionChange { get; set; }

    /// <summary>
    /// Called after commit whenever a user comes to hold a benefit or no longer holds it (the aggregate over the user's
    /// grants, not each grant). The guarantees of <see cref="OnSubscriptionChange"/>, in one order per user with it;
    /// make it idempotent on (<see cref="KavachBenefitChange.BenefitId"/>, <see cref="KavachBenefitChange.EventId"/>).
    /// </summary>
    public Func<KavachBenefitChange, CancellationToken, Task>? OnBenefitChange { get; set; }

    /// <summary>
    /// Allowed difference between the <c>webhook-timestamp</c> header and this machine's clock, in
    /// both directions. Default 5 minutes, as Polar's SDK uses. Configuration key
    /// <c>KavachPolar:WebhookTolerance</c> (a <see cref="TimeSpan"/>, e.g. <c>00:05:00</c>).
    /// </summary>
    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Largest webhook body accepted; larger bodies get 413 without being read. Default 256 KiB.
    /// Configuration key <c>KavachPolar:MaxWebhookBodyBytes</c>.
    /// </summary>
    public int MaxWebhookBodyBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Optional map of product slugs (e.g. <c>pro</c>) to Polar product ids. When not empty,
    /// checkout accepts only these products, by slug or by id. Configuration key
    /// <c>KavachPolar:Products:&lt;slug&gt;</c>.
    /// </summary>
    public IDictionary<string, string> Products { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Optional map of benefit slugs (e.g. <c>downloads</c>) to Polar benefit ids, so that <c>RequireBenefit("downloads")</c>,
    /// <see cref="RequireBenefitAttribute"/> and <see cref="IKavachPolarEntitlements.HasBenefitAsync"/> may name a benefit
    /// by slug; ids work either way. Configuration key <c>KavachPolar:Benefits:&lt;slug&gt;</c>.
    /// </summary>
    public IDictionary<string, string> Benefits { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Optional map of meter slugs (e.g. <c>ai-tokens</c>) to Polar meter ids, so that
    /// <see cref="IKavachPolarUsage.GetMeterAsync"/> may name a meter by slug; ids work either way. Configuration key
    /// <c>KavachPolar:Meters:&lt;slug&gt;</c>.
    /// </summary>
    public IDictionary<string, string> Meters { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// One-time products (Polar product ids, or slugs of <see cref="Products"/>) a user can buy once: checkout answers 409
    /// <c>already_purchased</c> while the user has a paid or partially refunded order of one (a fully refunded one can be
    /// bought again). Any other one-time product can be bought again and again, as Polar allows. Configuration key
    /// <c>KavachPolar:OneTimePurchaseLimit:0</c>, <c>:1</c>, ...
    /// </summary>
    public IList<string> OneTimePurchaseLimit { get; } = [];

    /// <summary>
    /// Origins (scheme, host and port, e.g. <c>https://app.example.org</c>) that an absolute
    /// <c>successUrl</c> may point to besides the request's own origin: where Polar may send the payer, nothing more.
    /// Requests from these origins are not trusted by the cross-site check (that is <see cref="TrustedOrigins"/>).
    /// Configuration key <c>KavachPolar:AllowedRedirectOrigins</c>.
    /// </summary>
    public IList<string> AllowedRedirectOrigins { get; } = [];

    /// <summary>
    /// Origins (scheme, host and port, e.g. <c>https://admin.example.org</c>) whose pages may post to KavachPolar's
    /// routes with the user's cookie (or another credential the browser sends by itself), besides this app's own
    /// origin (<see cref="PublicOrigin"/>). They are no redirect targets (that is <see cref="AllowedRedirectOrigins"/>).
    /// Configuration key <c>KavachPolar:TrustedOrigins</c>.
    /// </summary>
    public IList<string> TrustedOrigins { get; } = [];

    /// <summary>
    /// This app's public origin (scheme, host and port, e.g. <c>https://app.example.org</c>). When set, relative
    /// success URLs resolve against it and the cross-site check compares <c>Origin</c> with it, instead of with the
    /// request's <c>Host</c> (or <c>X-Forwarded-Host</c>), which a client can choose. Further origins go in
    /// <see cref="AllowedRedirectOrigins"/> (redirect targets) and <see cref="TrustedOrigins"/> (pages that may post).
    /// Configuration key <c>KavachPolar:PublicOrigin</c>.
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary>
    /// Polar's organization setting "allow multiple subscriptions" (off by default in Polar). While
    /// <see langword="false"/>, a user with an <c>active</c>, <c>trialing</c> or <c>past_due</c> subscription gets
    /// 409 <c>already_subscribed</c> from checkout instead of a checkout Polar would refuse on its payment page.
    /// Configuration key <c>KavachPolar:AllowMultipleSubscriptions</c>.
    /// </summary>
    public bool AllowMultipleSubscriptions { get; set; }

    /// <summary>
    /// The success URL used when a checkout request gives none: relative to the request's origin or
    /// absolute on an allowed origin, and may contain <c>{CHECKOUT_ID}</c>, which Polar replaces.
    /// When unset, Polar shows its own confirmation page. Configuration key <c>KavachPolar:SuccessUrl</c>.
    /// </summary>
    public string? SuccessUrl { get; set; }

    /// <summary>
    /// The claim holding the application's user id. Default <see cref="ClaimTypes.NameIdentifier"/>.
    /// Configuration key <c>KavachPolar:UserIdClaimType</c>.
    /// </summary>
    public string UserIdClaimType { get; set; } = ClaimTypes.NameIdentifier;

    /// <summary>
    /// Checkouts one user may create per minute; more get 429 with <c>Retry-After</c>. Default 10.
    /// Counted per app instance. Configuration key <c>KavachPolar:CheckoutRateLimit</c>.
    /// </summary>
    public int CheckoutRateLimit { get; set; } = 10;

    /// <summary>
    /// Reconciles (<c>POST reconcile</c>) one user may run per minute; more get 429 with <c>Retry-After</c>. Each reads
    /// several lists from Polar, so the default is lower than checkout's: 6. Concurrent reconciles of one user share
    /// one run. Counted per app instance. Configuration key <c>KavachPolar:ReconcileRateLimit</c>.
    /// </summary>
    public int ReconcileRateLimit { get; set; } = 6;

    /// <summary>
    /// Requests to Polar this instance may send per minute (a sliding window). Polar's limit (500 a minute in
    /// production, 100 in the sandbox) is the whole organization's; one user may have at most a fair share of this
    /// budget, <c>budget / (users with calls in the last minute, this one included, + 1)</c>, so one share stays free
    /// for a user who comes next. Calls over the budget or the user's share, or while Polar's last 429 asks to wait,
    /// are not sent and end as <c>polar_rate_limited</c> with <c>Retry-After</c>. Default: Polar's limit for
    /// <see cref="Sandbox"/>; with several instances, set each a share. Configuration key
    /// <c>KavachPolar:PolarRequestsPerMinute</c>.
    /// </summary>
    public int? PolarRequestsPerMinute { get; set; }

    /// <summary>
    /// How long the webhook endpoint may spend on the database before it answers 503 so that Polar
    /// retries. Must stay well under Polar's 10 second delivery timeout, leaving room for the network
    /// and a loaded machine. Default 5 seconds. Configuration key <c>KavachPolar:WebhookProcessingTimeout</c>.
    /// </summary>
    public TimeSpan WebhookProcessingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long this instance may serve a user's subscription state (GET subscription, <c>IsEntitledAsync</c>, the
    /// gate) from memory. Entries are dropped at once when this instance commits a change to the user, and, on
    /// PostgreSQL, when another instance announces one (<c>LISTEN</c>/<c>NOTIFY</c>); the expiry is the safety net.
    /// Default 30 seconds; <see cref="TimeSpan.Zero"/> turns the cache off. Configuration key
    /// <c>KavachPolar:ReadCacheExpiry</c>.
    /// </summary>
    public TimeSpan ReadCacheExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When the health check (<c>AddHealthChecks().AddKavachPolar()</c>) reports a backlog as Degraded. Configuration
    /// section <c>KavachPolar:Health</c>.
    /// </summary>
    public KavachPolarHealthOptions Health { get; set; } = new();

    /// <summary>
    /// The start-up self-check of the token, organization, scopes and webhook endpoint (on by default, logging only).
    /// Configuration section <c>KavachPolar:SelfCheck</c>.
    /// </summary>
    public KavachPolarSelfCheckOptions SelfCheck { get; set; } = new();

    /// <summary>
    /// How long a user route (subscription, checkout, reconcile, plan management) or the subscription gate waits for
    /// one unit of database work before it answers 503 <c>store_unavailable</c> with <c>Retry-After</c>. The wait
    /// ends at this budget even if the database driver ignores cancellation; the abandoned work finishes or rolls
    /// back on its own connection in the background. Default 5 seconds; more than zero and at most one minute.
    /// Configuration key <c>KavachPolar:DatabaseTimeout</c>.
    /// </summary>
    public TimeSpan DatabaseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On PostgreSQL, a connection string that reaches the database directly (or through a pooler in session mode), for
    /// the two connections each instance keeps to hear and announce subscription changes (<c>LISTEN</c>/<c>NOTIFY</c>)
    /// for its read cache. Set it when the host's connection string goes through a pooler in transaction or statement
    /// mode (PgBouncer, Supavisor, a cloud provider's pooler), through which <c>LISTEN</c> cannot work: without it the
    /// read cache is then off, with one warning (event 3005). Unset (the default), those connections are cloned from
    /// the host DbContext's. Configuration key <c>KavachPolar:NotificationConnectionString</c>.
    /// </summary>
    public string? NotificationConnectionString { get; set; }
}
