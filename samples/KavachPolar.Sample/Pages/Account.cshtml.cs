using System.Globalization;
using System.Security.Claims;
using KavachPolar.Sample.Billing;
using KavachPolar.Sample.Data;
using KavachPolar.Sample.Hosting;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Sample.Pages;

/// <summary>
/// The signed-in user's subscription, read through <see cref="IKavachPolarSubscriptions"/>, with cancel, resume
/// and refresh done server-side, and the changes <c>OnSubscriptionChange</c> recorded.
/// </summary>
public sealed class AccountModel(IKavachPolarSubscriptions subscriptions, ProductCatalog catalog, SampleDbContext db) : PageModel
{
    private const int ChangesShown = 50;

    public string UserId { get; private set; } = "";

    public string? Email { get; private set; }

    public KavachSubscription? Subscription { get; private set; }

    public string? ProductName { get; private set; }

    /// <summary>When no subscription is live: the status the last one ended with, from <c>kavach_users</c>.</summary>
    public string? EndedStatus { get; private set; }

    public IReadOnlyList<SubscriptionChangeEntry> Changes { get; private set; } = [];

    [TempData]
    public string? Message { get; set; }

    [TempData]
    public bool MessageIsError { get; set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        UserId = User.UserId()!;
        Email = User.FindFirstValue(ClaimTypes.Email);
        Subscription = await subscriptions.GetSubscriptionAsync(UserId, cancellationToken);
        if (Subscription is not null)
        {
            ProductName = (await catalog.FindAsync(Subscription.ProductId, cancellationToken))?.Name ?? Subscription.ProductId;
        }
        else
        {
            EndedStatus = await db.Set<KavachUser>().Where(u => u.Id == UserId).Select(u => u.PolarSubscriptionStatus).FirstOrDefaultAsync(cancellationToken);
        }

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

    public async Task<IActionResult> OnPostRefreshAsync(CancellationToken cancellationToken)
    {
        var result = await subscriptions.ReconcileUserAsync(User.UserId()!, cancellationToken);
        return Done(result, "Refreshed from Polar.");
    }

    public static string FormatDate(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture) ?? "—";

    private RedirectToPageResult Done(KavachPolarResult result, string success)
    {
        MessageIsError = !result.Succeeded;
        Message = result.Succeeded ? success : Explain(result);
        return RedirectToPage();
    }

    private static string Explain(KavachPolarResult result) => result.ErrorCode switch
    {
        "no_subscription" => "You have no subscription to change.",
        "polar_conflict" => "Polar is busy with this subscription (a change is pending). Try again in a moment.",
        "polar_rate_limited" => $"Polar asked us to slow down. Try again in {Math.Ceiling(result.RetryAfter?.TotalSeconds ?? 10)} seconds.",
        "polar_token_rejected" => "Polar rejected the app's access token. Check KavachPolar:AccessToken and KavachPolar:Sandbox.",
        "polar_unavailable" => "Polar could not be reached. Try again in a moment.",
        _ => $"Polar refused the change ({result.ErrorCode}).",
    };
}
