using KavachPolar.Sample.Hosting;
using KavachPolar.Testing;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace KavachPolar.Sample.Pages;

/// <summary>
/// The lifetime area, only for buyers of the lifetime product: <see cref="RequirePurchaseAttribute"/> lets in a user with a
/// <c>paid</c> or <c>partially_refunded</c> one-time order of it, read from this app's database (cached), never from Polar.
/// A full refund closes the page as soon as Polar's <c>order.updated</c> is in; a partial one keeps it open. A signed-in
/// user without the purchase is sent to pricing (the cookie handler's access-denied path), which says why.
/// </summary>
/// <remarks>
/// The product is named by id: the emulator's demo "Pro Lifetime". With a real Polar, put your one-time product's id
/// here, or a slug of <c>KavachPolar:Products</c> (which then also limits checkout to the products it lists).
/// </remarks>
[RequirePurchase(ProductId)]
public sealed class LifetimeModel(IKavachPolarEntitlements entitlements) : PageModel
{
    /// <summary>The lifetime product's Polar id.</summary>
    public const string ProductId = PolarEmulator.DemoLifetimeProductId;

    /// <summary>The order that opened the page: the user's newest paid, not fully refunded order of the product.</summary>
    public KavachOrder? Order { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var orders = await entitlements.GetOrdersAsync(User.UserId()!, cancellationToken: cancellationToken);
        Order = orders.FirstOrDefault(o => o.ProductId == ProductId && o.Status is "paid" or "partially_refunded");
    }
}
