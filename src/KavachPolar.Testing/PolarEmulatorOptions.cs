namespace KavachPolar.Testing;

/// <summary>Settings for <see cref="PolarEmulator.StartAsync"/>.</summary>
public sealed class PolarEmulatorOptions
{
    /// <summary>The default access token: an organization access token the emulator accepts.</summary>
    public const string DefaultAccessToken = "polar_oat_emulator_0000000000000000000000000000";

    /// <summary>The default organization id (a fixed UUID version 4).</summary>
    public const string DefaultOrganizationId = "5e1f3c2a-7b4d-4e8f-9a6b-0c1d2e3f4a5b";

    /// <summary>The bearer token the API accepts. Any other token gets Polar's <c>invalid_token</c> 401.</summary>
    public string AccessToken { get; set; } = DefaultAccessToken;

    /// <summary>The organization that owns everything in the emulator.</summary>
    public string OrganizationId { get; set; } = DefaultOrganizationId;

    /// <summary>
    /// The products to offer. When empty, the emulator seeds demo products with fixed ids:
    /// "Pro" ($19 monthly), "Team" ($49 monthly), "Pro Yearly" ($190 yearly),
    /// "Pro Trial" ($19 monthly with a 14-day trial), and two one-time products: "Pro Lifetime" ($299,
    /// <see cref="PolarEmulator.DemoLifetimeProductId"/>) and the add-on "Template Pack" ($29,
    /// <see cref="PolarEmulator.DemoAddOnProductId"/>).
    /// </summary>
    public IList<EmulatorProductDefinition> Products { get; } = new List<EmulatorProductDefinition>();

    /// <summary>
    /// The organization's meters. When empty, the emulator has one demo meter with a fixed id: "AI tokens", the sum of
    /// the metadata key <c>tokens</c> over events named <c>ai.summary</c> (<see cref="PolarEmulator.DemoMeterId"/>).
    /// </summary>
    public IList<EmulatorMeterDefinition> Meters { get; } = new List<EmulatorMeterDefinition>();

    /// <summary>
    /// The transport clock: webhook timestamps, retry delays and the base of the business clock.
    /// <see cref="TimeProvider.System"/> when <see langword="null"/>. <see cref="PolarEmulator.AdvanceTimeAsync"/>
    /// moves only the business clock (subscription periods, envelope timestamps), never webhook timestamps,
    /// so a receiver's ±5 minute tolerance keeps accepting deliveries.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Fixed retry delays, for tests: entry n is the delay after failed attempt n (attempts are counted over the
    /// event's life, redeliveries included); when an event needs more retries than the list has entries, the last
    /// entry repeats. Delays given here are used exactly, without jitter. Empty (the default) means Polar's own
    /// schedule: <c>min(2 s·2^n, 20 min)</c> with jitter between 50 % and 100 % (dramatiq's <c>compute_backoff</c>),
    /// that is 2–4 s, 4–8 s, … 512–1024 s.
    /// </summary>
    public IList<TimeSpan> WebhookRetryDelays { get; } = new List<TimeSpan>();

    /// <summary>How long one delivery attempt may take; 10 s as Polar.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Delivery attempts per event in total, the first included; 10 as Polar.</summary>
    public int WebhookMaxAttempts { get; set; } = 10;

    /// <summary>
    /// The organization setting <c>allow_multiple_subscriptions</c>. Default <see langword="false"/>, as in Polar:
    /// paying a checkout whose customer (or, with no customer yet, whose email's customer) already has an
    /// <c>active</c>, <c>trialing</c> or <c>past_due</c> subscription is refused with 403
    /// "You already have an active subscription." (creating the checkout still succeeds; updating it with
    /// <c>PATCH /v1/checkouts/{id}</c> is refused the same way).
    /// </summary>
    public bool AllowMultipleSubscriptions { get; set; }

    /// <summary>
    /// The benefits the organization offers, attached to products by id with <see cref="EmulatorProductDefinition.BenefitIds"/>.
    /// When both this and <see cref="Products"/> are empty, the demo products carry demo benefits with fixed ids: a
    /// downloadables "Downloads" and a feature flag "Beta features" (all four products), a license key "License key"
    /// (Pro, Team, Pro Yearly), and on Team a custom "Priority support", a Discord "Discord community" and a GitHub
    /// "Private repository access" (both "action required" until the customer links an account).
    /// </summary>
    public IList<EmulatorBenefitDefinition> Benefits { get; } = new List<EmulatorBenefitDefinition>();

    /// <summary>
    /// Meter credits in the demo catalogue: when more than 0 (and <see cref="Products"/> and <see cref="Benefits"/> are
    /// empty), "Pro" and "Team" also carry a <c>meter_credit</c> benefit "AI tokens included"
    /// (<see cref="PolarEmulator.DemoMeterCreditBenefitId"/>) crediting this many units of the demo meter on grant and on
    /// each renewal, without rollover. 0 (the default) leaves the demo catalogue without meter credits. Negative values,
    /// or a value with a catalogue of one's own, are refused at start.
    /// </summary>
    public int DemoMeterCredits { get; set; }

    /// <summary>
    /// The organization setting <c>benefit_revocation_grace_period</c>, in days: 0 (Polar's default) revokes a past-due
    /// subscription's benefits at once; with N days, revocation is skipped while less than N days have passed since
    /// <c>past_due_at</c>, and happens at the first dunning retry after that, as Polar re-checks only at its dunning attempts.
    /// </summary>
    public int BenefitRevocationGracePeriodDays { get; set; }

    /// <summary>
    /// The organization feature <c>member_model_enabled</c> (on for organizations created since Polar introduced members):
    /// every customer gets an owner member when created (<c>member.created</c>), and every grant carries it
    /// (<c>member_id</c>, <c>member</c>). Default <see langword="false"/>: an organization from before the member model.
    /// </summary>
    public bool MemberModel { get; set; }

    /// <summary>Where the emulator listens; port 0 picks a free port.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:0";

    /// <summary>
    /// How long Polar's worker takes to generate an invoice after <c>POST /v1/orders/{id}/invoice</c> answered 202, on
    /// the emulator's clock: until then <c>GET /v1/orders/{id}/invoice</c> answers 404 <c>InvoiceDoesNotExist</c>;
    /// then <c>is_invoice_generated</c> turns true and <c>order.updated</c> is sent. 2 seconds by default (Polar: "a few
    /// seconds"); <see cref="TimeSpan.Zero"/> generates it before the next read.
    /// </summary>
    public TimeSpan InvoiceGenerationDelay { get; set; } = TimeSpan.FromSeconds(2);
}
