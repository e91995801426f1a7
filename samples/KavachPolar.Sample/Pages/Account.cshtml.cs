using System.Security.Claims;
using KavachPolar.Sample.Billing;
using KavachPolar.Sample.Data;
using KavachPolar.Sample.Hosting;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KavachPolar.Sample.Pages;

/// <summary>
/// The signed-in user's subscription, read through <see cref="IKavachPolarSubscriptions"/>, with plan changes,
/// cancel, resume and refresh done server-side, the customer portal one click away, and the changes
/// <c>OnSubscriptionChange</c> recorded, and the benefits the user holds (<see cref="IKavachPolarEntitlements"/>) with a
/// license key's masked <c>display_key</c>.
/// </summary>
public sealed class AccountModel(IKavachPolarSubscriptions subscriptions, IKavachPolarEntitlements entitlements, IKavachPolarUsage usage, IOptions<KavachPolarOptions> options, ProductCatalog catalog, SampleDbContext db) : PageModel
{
    private const int ChangesShown = 50;

    /// <summary>The meter the usage bar shows, as a <c>KavachPolar:Meters</c> slug (the emulator's "AI tokens" meter).</summary>
    public const string UsageMeter = "ai-tokens";

    /// <summary>Whether <c>KavachPolar:Meters</c> names the usage meter; without it the page shows no usage.</summary>
    public bool UsageConfigured => options.Value.Meters.ContainsKey(UsageMeter);

    /// <summary>The user's AI tokens meter (<see cref="IKavachPolarUsage.GetMeterAsync"/>): null when the user has no Polar customer yet.</summary>
    public KavachMeter? Usage { get; private set; }

    /// <summary>Why the meter could not be read from Polar, if it could not.</summary>
    public string? UsageError { get; private set; }

    public string UserId { get; private set; } = "";

    public string? Email { get; private set; }

    public KavachSubscription? Subscription { get; private set; }

    public string? ProductName { get; private set; }

    /// <summary>When no subscription is live: the status the last one ended with, from <c>kavach_users</c>.</summary>
    public string? EndedStatus { get; private set; }

    public IReadOnlyList<SubscriptionChangeEntry> Changes { get; private set; } = [];

    /// <summary>The benefit the downloads page asks for (<c>KavachPolar:Benefits:downloads</c>), if configured.</summary>
    public string? DownloadsBenefitId => options.Value.Benefits.TryGetValue(DownloadsModel.Slug, out var id) ? id : null;

    /// <summary>The benefits the user holds (any grant granted), from this app's database.</summary>
    public IReadOnlyList<KavachBenefit> Benefits { get; private set; } = [];

    /// <summary>
    /// The billing history: the user's orders (<see cref="IKavachPolarEntitlements.GetOrdersAsync"/>), newest first, from
    /// this app's database: one-time purchases, a subscription's first charge, its renewals and plan-change invoices.
    /// </summary>
    public IReadOnlyList<KavachOrder> Orders { get; private set; } = [];

    /// <summary>How many orders the billing history shows.</summary>
    public const int OrdersShown = 20;

    private Dictionary<string, string> _productNames = [];

    /// <summary>Plans the user can switch to: every product but the current one.</summary>
    public IReadOnlyList<CatalogProduct> OtherPlans { get; private set; } = [];

    /// <summary>
    /// What the last action said, carried over its redirect in TempData and read only by the page's own GET: a
    /// [TempData] property is loaded by every handler of the page, the changes table's refresh included, and that
    /// refresh, started before a plan change's POST and answered after it, saved its empty TempData over the message
    /// (the page came back without it, seen on a loaded machine).
    /// </summary>
    public string? Message { get; private set; }

    public bool MessageIsError { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        UserId = User.UserId()!;
        Email = User.FindFirstValue(ClaimTypes.Email);
        Message = TempData[nameof(Message)] as string;
        MessageIsError = TempData[nameof(MessageIsError)] is true;
        Subscription = await subscriptions.GetSubscriptionAsync(UserId, cancellationToken);
        if (Subscription is not null)
        {
            ProductName = (await catalog.FindAsync(Subscription.ProductId, cancellationToken))?.Name ?? Subscription.ProductId;
            OtherPlans = (await catalog.GetProductsAsync(cancellationToken)).Products.Where(p => p.Id != Subscription.ProductId && p.Interval is not null).ToList();
        }
        else
        {
            EndedStatus = await db.Set<KavachUser>().Where(u => u.Id == UserId).Select(u => u.PolarSubscriptionStatus).FirstOrDefaultAsync(cancellationToken);
        }

        Benefits = await entitlements.GetBenefitsAsync(UserId, cancellationToken);
        Orders = await entitlements.GetOrdersAsync(UserId, OrdersShown, cancellationToken);
        await LoadUsageAsync(cancellationToken);
        await LoadChangesAsync(cancellationToken);
    }

    private async Task LoadUsageAsync(CancellationToken cancellationToken)
    {
        if (!UsageConfigured)
        {
            return;
        }

        try
        {
            Usage = await usage.GetMeterAsync(UserId, UsageMeter, cancellationToken);
        }
        catch (KavachPolarException e)
        {
            // Polar unreachable or refusing: the rest of the page still works.
            UsageError = Explain(e.ErrorCode, null);
        }
    }

    /// <summary>
    /// What the user has used: Polar's consumed units plus what this app recorded that Polar's meter does not count yet
    /// (<see cref="KavachMeter.PendingUnits"/>; the demo meter sums <c>tokens</c>, which KavachPolar evaluates here).
    /// </summary>
    public static decimal Used(KavachMeter meter) => meter.ConsumedUnits + (meter.PendingUnits ?? 0);

    /// <summary>
    /// What is left of the period's credits: Polar's balance (credited less consumed, negative past the credits) less what
    /// is pending here, the figure to enforce a quota with, since Polar's meter lags and Polar never blocks usage.
    /// </summary>
    public static decimal Remaining(KavachMeter meter) => meter.Balance - (meter.PendingUnits ?? 0);

    /// <summary>A number of units as the page shows it (no trailing zeros), invariant.</summary>
    public static string Units(decimal value) => value.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The changes table alone: the page asks for it every few seconds, since <c>OnSubscriptionChange</c> runs after the
    /// webhook commits, a moment after a plan change or cancel has already redirected back here.
    /// </summary>
    public async Task<IActionResult> OnGetChangesAsync(CancellationToken cancellationToken)
    {
        UserId = User.UserId()!;
        await LoadChangesAsync(cancellationToken);
        return Partial("_SubscriptionChanges", this);
    }

    private async Task LoadChangesAsync(CancellationToken cancellationToken)
    {
        _productNames = (await catalog.GetProductsAsync(cancellationToken)).Products.DistinctBy(p => p.Id).ToDictionary(p => p.Id, p => p.Name);
        Changes = await db.SubscriptionChanges.AsNoTracking()
            .Where(c => c.UserId == UserId)
            .OrderByDescending(c => c.Id)
            .Take(ChangesShown)
            .ToListAsync(cancellationToken);
    }

    public async Task<IActionResult> OnPostCancelAsync(CancellationToken cancellationToken)
    {
        var result = await subscriptions.CancelAtPeriodEndAsync(User.UserId()!, cancellationToken);
        return Done(result, $"Your subscription will end on {FormatDate(result.Subscription?.CurrentPeriodEnd)}. You keep access until then.");
    }

    public async Task<IActionResult> OnPostResumeAsync(CancellationToken cancellationToken)
    {
        var result = await subscriptions.ResumeAsync(User.UserId()!, cancellationToken);
        return Done(result, "Your subscription continues; it renews as usual.");
    }

    /// <summary>Switches plan through <see cref="IKavachPolarSubscriptions.ChangePlanAsync"/>; the pricing page posts here too.</summary>
    public async Task<IActionResult> OnPostChangePlanAsync(string productId, string? proration, CancellationToken cancellationToken)
    {
        var behavior = proration switch
        {
            "prorate" => KavachProrationBehavior.Prorate,
            "next_period" => KavachProrationBehavior.NextPeriod,
            _ => KavachProrationBehavior.Invoice,
        };
        var before = await subscriptions.GetSubscriptionAsync(User.UserId()!, cancellationToken);
        var result = await subscriptions.ChangePlanAsync(User.UserId()!, productId ?? "", behavior, cancellationToken);
        var name = (await catalog.FindAsync(productId ?? "", cancellationToken))?.Name ?? "the new plan";
        return Done(result, before?.ProductId == productId
            ? $"You stay on {name}; the scheduled change is dropped."
            : behavior == KavachProrationBehavior.NextPeriod
                ? $"{name} starts on {FormatDate(result.Subscription?.CurrentPeriodEnd)}, when your current period ends."
                : $"You are now on {name}.");
    }

    /// <summary>What each proration choice means for the user, in words.</summary>
    public static string ExplainProration(string proration, string? currentPlan, DateTimeOffset? periodEnd) => proration switch
    {
        "prorate" => "Switch now. The price difference for the rest of this period is added to your next invoice.",
        "next_period" => $"Keep {currentPlan} until {FormatDate(periodEnd)}; the new plan starts with your next period. No charge today.",
        _ => "Switch now. You are charged (or credited) the price difference for the rest of this period today.",
    };

    public async Task<IActionResult> OnPostRefreshAsync(CancellationToken cancellationToken)
    {
        var result = await subscriptions.ReconcileUserAsync(User.UserId()!, cancellationToken);
        return Done(result, "Refreshed from Polar.");
    }

    public static string FormatDate(DateTimeOffset? value) => SampleDates.Date(value);

    /// <summary>
    /// The license keys of a <c>license_keys</c> benefit, as its grants carry them: Polar's <c>display_key</c>, masked
    /// (four stars and the key's last six characters). The full key is a secret Polar shows the customer in its portal and
    /// emails; reading it here would take Polar's license-key API with a token that can read every customer's keys.
    /// </summary>
    public static IEnumerable<string> DisplayKeys(KavachBenefit benefit) =>
        benefit.Type != "license_keys"
            ? []
            : benefit.Grants
                .Select(g => g.Properties is { ValueKind: System.Text.Json.JsonValueKind.Object } p && p.TryGetProperty("display_key", out var key) && key.ValueKind == System.Text.Json.JsonValueKind.String ? key.GetString() : null)
                .OfType<string>()
                .Distinct(StringComparer.Ordinal);

    /// <summary>A product's name from its id (the id itself when the catalogue does not know it).</summary>
    public string NameOf(string productId) => _productNames.TryGetValue(productId, out var name) ? name : productId;

    /// <summary>The <c>Change</c> column of the changes table, with product names from the catalog.</summary>
    public string Describe(SubscriptionChangeEntry change) =>
        ChangeDescription.Describe(change, id => _productNames.TryGetValue(id, out var name) ? name : id);

    /// <summary>An order's amount as the billing history shows it: what was charged, tax included, in the order's currency.</summary>
    public static string Amount(KavachOrder order) => ProductCatalog.Money(order.TotalAmount, order.Currency);

    /// <summary>
    /// An order's status in words. "Refunded" and "Partially refunded" follow Polar's status (never arithmetic); a partial
    /// refund says how much came back (Polar's refunded amount, net of tax).
    /// </summary>
    public static string StatusText(KavachOrder order) => order.Status switch
    {
        "paid" => "Paid",
        "refunded" => "Refunded",
        "partially_refunded" => $"Partially refunded ({ProductCatalog.Money(order.RefundedAmount, order.Currency)} back)",
        "pending" => "Payment pending",
        "draft" => "Draft",
        "void" => "Void",
        _ => order.Status,
    };

    /// <summary>Polar makes invoices for orders that were charged: not for a draft, a void or an unpaid one.</summary>
    public static bool HasInvoice(KavachOrder order) => order.Status is "paid" or "refunded" or "partially_refunded";

    /// <summary>What the order was for, from Polar's billing reason.</summary>
    public static string Reason(KavachOrder order) => order.BillingReason switch
    {
        "purchase" => "One-time purchase",
        "subscription_create" => "Subscription",
        "subscription_cycle" => "Renewal",
        "subscription_update" => "Plan change",
        "subscription_meter_cycle" => "Usage",
        _ => order.BillingReason,
    };

    /// <summary>"Renews on", or "First charge on" while a trial runs (its period ends with the first charge), or "Access until" once cancelled.</summary>
    public static string RenewalLabel(KavachSubscription subscription) =>
        subscription.CancelAtPeriodEnd ? "Access until" : subscription.Status == "trialing" ? "First charge on" : "Renews on";

    /// <summary>
    /// Manage billing: a Polar customer portal session whose "Back" link returns to this page (the package's
    /// <c>POST /api/kavach/auth/polar/portal</c> returns to the app's root). Answers <c>{"url"}</c>, or
    /// <c>{"detail"}</c> with KavachPolar's status for the error.
    /// </summary>
    public async Task<IActionResult> OnPostPortalAsync(CancellationToken cancellationToken)
    {
        var returnUrl = new Uri(Url.Page("/Account", pageHandler: null, values: null, protocol: Request.Scheme)!);
        var result = await subscriptions.CreatePortalSessionAsync(User.UserId()!, returnUrl, cancellationToken);
        if (result.Succeeded)
        {
            return new JsonResult(new { url = result.Url!.AbsoluteUri });
        }

        var detail = result.ErrorCode == KavachPolarErrorCodes.NoCustomer ? "You have no billing account at Polar yet: subscribe first." : Explain(result.ErrorCode, result.RetryAfter);
        var status = result.ErrorCode switch
        {
            KavachPolarErrorCodes.NoCustomer => StatusCodes.Status409Conflict,
            KavachPolarErrorCodes.PolarRateLimited => StatusCodes.Status429TooManyRequests,
            KavachPolarErrorCodes.PolarUnavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status502BadGateway,
        };
        return new JsonResult(new { detail }) { StatusCode = status };
    }

    private RedirectToPageResult Done(KavachPolarResult result, string success)
    {
        TempData[nameof(MessageIsError)] = !result.Succeeded;
        TempData[nameof(Message)] = result.Succeeded ? success : Explain(result.ErrorCode, result.RetryAfter);
        return RedirectToPage();
    }

    private static string Explain(string? errorCode, TimeSpan? retryAfter) => errorCode switch
    {
        KavachPolarErrorCodes.NoSubscription => "You have no subscription to change.",
        KavachPolarErrorCodes.UnknownProduct => "That plan is not offered.",
        KavachPolarErrorCodes.PolarRejected => "Polar refused the change. A subscription that is set to cancel cannot change plan: keep it first.",
        KavachPolarErrorCodes.PolarRateLimited => $"Polar asked us to slow down. Try again in {Math.Ceiling(retryAfter?.TotalSeconds ?? 10)} seconds.",
        KavachPolarErrorCodes.PolarTokenRejected => "Polar rejected the app's access token. Check KavachPolar:AccessToken and KavachPolar:Sandbox.",
        KavachPolarErrorCodes.PolarUnavailable => "Polar could not be reached. Try again in a moment.",
        _ => $"Polar refused the change ({errorCode}).",
    };
}
