using KavachPolar.Sample.Billing;
using KavachPolar.Sample.Hosting;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages;

/// <summary>The products from Polar, with a Subscribe button each, and the signed-in user's current plan marked.</summary>
public sealed class PricingModel(ProductCatalog catalog, IKavachPolarSubscriptions subscriptions) : PageModel
{
    public IReadOnlyList<CatalogProduct> Products { get; private set; } = [];

    public string? Problem { get; private set; }

    public KavachSubscription? Current { get; private set; }

    /// <summary>The user was sent here from the members area (the cookie handler's access-denied redirect).</summary>
    public bool ForMembers { get; private set; }

    /// <summary>The user was sent here from the downloads page, which needs the downloads benefit.</summary>
    public bool ForDownloads { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        ForMembers = Request.Query["ReturnUrl"].ToString().StartsWith("/members", StringComparison.OrdinalIgnoreCase);
        ForDownloads = Request.Query["ReturnUrl"].ToString().StartsWith("/downloads", StringComparison.OrdinalIgnoreCase);
        var result = await catalog.GetProductsAsync(cancellationToken);
        Products = result.Products;
        Problem = result.Problem;
        if (User.UserId() is { } userId)
        {
            Current = await subscriptions.GetSubscriptionAsync(userId, cancellationToken);
        }
    }
}
