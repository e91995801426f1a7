using KavachPolar.Sample.Billing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages.Billing;

/// <summary>
/// Where Polar returns after paying (<c>?checkout_id=...</c>). The page's script calls
/// <c>POST /api/kavach/auth/polar/reconcile</c> with the checkout id, which applies the checkout's subscription
/// whether or not Polar's webhook has arrived yet.
/// </summary>
public sealed class SuccessModel(ProductCatalog catalog) : PageModel
{
    [FromQuery(Name = "checkout_id")]
    public string? CheckoutId { get; set; }

    public IDictionary<string, string> ProductNames { get; private set; } = new Dictionary<string, string>();

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(CheckoutId) || CheckoutId.Length > 100)
        {
            CheckoutId = null;
            return;
        }

        var products = await catalog.GetProductsAsync(cancellationToken);
        ProductNames = products.Products.ToDictionary(p => p.Id, p => p.Name);
    }
}
