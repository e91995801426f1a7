using KavachPolar.Sample.Billing;
using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages;

/// <summary>The products from Polar, plans first and then one-time products, with a Subscribe or Buy button each, and the signed-in user's current plan marked.</summary>
public sealed class PricingModel(ProductCatalog catalog, IKavachPolarSubscriptions subscriptions) : PageModel
{
    /// <summary>The subscriptions (recurring products).</summary>
    public IReadOnlyList<CatalogProduct> Plans { get; private set; } = [];

    /// <summary>One-time products: bought once, kept, and open to subscribers too.</summary>
    public IReadOnlyList<CatalogProduct> OneTime { get; private set; } = [];

    public string? Problem { get; private set; }

    public KavachSubscription? Current { get; private set; }

    /// <summary>The user was sent here from the members area (the cookie handler's access-denied redirect).</summary>
    public bool ForMembers { get; private set; }

    /// <summary>The user was sent here from the downloads page, which needs the downloads benefit.</summary>
    public bool ForDownloads { get; private set; }

    /// <summary>The user was sent here from the lifetime page, which needs a purchase of the lifetime product.</summary>
    public bool ForLifetime { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        ForLifetime = Request.Query["ReturnUrl"].ToString().StartsWith("/lifetime", StringComparison.OrdinalIgnoreCase);
        ForMembers = Request.Query["ReturnUrl"].ToString().StartsWith("/members", StringComparison.OrdinalIgnoreCase);
        ForDownloads = Request.Query["ReturnUrl"].ToString().StartsWith("/downloads", StringComparison.OrdinalIgnoreCase);
        var result = await catalog.GetProductsAsync(cancellationToken);
        Plans = [.. result.Products.Where(p => p.Interval is not null)];
        OneTime = [.. result.Products.Where(p => p.Interval is null)];
        Problem = result.Problem;
        if (User.UserId() is { } userId)
        {
            Current = await subscriptions.GetSubscriptionAsync(userId, cancellationToken);
        }
    }
}
