using KavachPolar.Billing;
using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Storage;
using KavachPolar.Subscriptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Services;

/// <summary>
/// Creates a Polar checkout for a user. The server, never the client and never Polar, chooses the customer: the
/// user's bound customer, else Polar's customer with <c>external_id</c> = user id (created when missing). A
/// checkout never goes to Polar without that <c>customer_id</c>: without it, Polar's confirmation would reuse
/// whichever customer owns the email typed on its page, possibly another user's.
/// </summary>
/// <remarks>Store failures propagate (the endpoint answers 503); Polar's errors are returned as values.</remarks>
internal sealed class CheckoutService(
    BillingStore billing,
    PolarApiClient api,
    ProductKinds productKinds,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<CheckoutService> logger)
{
    /// <summary>
    /// Checks the product (<see cref="Products"/>) and the success URL (<see cref="SuccessUrls"/>, default
    /// <see cref="KavachPolarOptions.SuccessUrl"/>) the client asked for, then creates the checkout.
    /// </summary>
    /// <param name="buyer">The signed-in user.</param>
    /// <param name="wantedProduct">A Polar product id, or a slug of <see cref="KavachPolarOptions.Products"/>.</param>
    /// <param name="wantedSuccessUrl">A path on <paramref name="appOrigin"/> or an absolute URL, or <see langword="null"/> for the default.</param>
    /// <param name="appOrigin">This app's origin, <c>scheme://host[:port]</c>.</param>
    /// <param name="clientIp">The buyer's public IP address (Polar's <c>customer_ip_address</c>), or <see langword="null"/>.</param>
    /// <param name="ct">Cancels the work.</param>
    public async Task<CheckoutOutcome> CreateAsync(CheckoutBuyer buyer, string wantedProduct, string? wantedSuccessUrl, string appOrigin, string? clientIp, CancellationToken ct)
    {
        using var caller = PolarCaller.For(buyer.Id);
        var current = options.CurrentValue;
        var productId = Products.Resolve(wantedProduct, current);
        if (productId is null)
        {
            return CheckoutOutcome.Failed(KavachPolarErrorCodes.UnknownProduct);
        }

        string? successUrl = null;
        var wanted = wantedSuccessUrl ?? current.SuccessUrl;
        if (!string.IsNullOrEmpty(wanted))
        {
            successUrl = SuccessUrls.Resolve(wanted, appOrigin, current.AllowedRedirectOrigins);
            if (successUrl is null)
            {
                return CheckoutOutcome.Failed(KavachPolarErrorCodes.SuccessUrlNotAllowed);
            }
        }

        var outcome = await CreateCheckoutAsync(buyer, productId, successUrl, clientIp, ct).ConfigureAwait(false);
        if (outcome.ErrorCode is KavachPolarErrorCodes.CustomerConflict or KavachPolarErrorCodes.UserForgotten)
        {
            Log.RequestRefused(logger, "checkout", buyer.Id, outcome.ErrorCode);
        }

        return outcome;
    }

    private async Task<CheckoutOutcome> CreateCheckoutAsync(CheckoutBuyer buyer, string productId, string? successUrl, string? clientIp, CancellationToken ct)
    {
        // Claims come from the host's identity provider: keep what fits the columns, as the webhook path does.
        buyer = buyer with { Email = TextSafety.ForTextColumn(buyer.Email, Limits.Email), Name = TextSafety.ForTextColumn(buyer.Name, Limits.Name) };
        var (row, live, forgotten) = await billing.EnsureUserAsync(buyer.Id, buyer.Email, buyer.Name, ct).ConfigureAwait(false);
        if (forgotten)
        {
            return CheckoutOutcome.Failed(KavachPolarErrorCodes.UserForgotten);
        }

        if (live && !options.CurrentValue.AllowMultipleSubscriptions)
        {
            // Polar's organization default refuses a second live subscription on its payment page, for recurring
            // products only (_validate_subscription_uniqueness returns early for a one-time product: a subscriber can buy
            // an add-on); changing plan is a subscription update, not a checkout.
            var recurring = await productKinds.IsRecurringAsync(productId, ct).ConfigureAwait(false);
            if (!recurring.IsSuccess)
            {
                return CheckoutOutcome.Failed(recurring.Error!);
            }

            if (recurring.Value)
            {
                return CheckoutOutcome.Failed(KavachPolarErrorCodes.AlreadySubscribed, SubscriptionProjection.Read(row!));
            }
        }

        if (IsLimitedToOnce(productId) && await billing.HasPurchasedAsync(buyer.Id, row!.PolarCustomerId, productId, ct).ConfigureAwait(false))
        {
            // Polar sells a one-time product any number of times; the host asked for once (a fully refunded order can be
            // bought again).
            return CheckoutOutcome.Failed(KavachPolarErrorCodes.AlreadyPurchased);
        }

        var customerId = row!.PolarCustomerId;
        for (var attempt = 0; ; attempt++)
        {
            if (customerId is null)
            {
                var (customer, failure) = await FindOrCreateCustomerAsync(buyer, ct).ConfigureAwait(false);
                if (failure is not null)
                {
                    return failure;
                }

                await billing.BindCustomerAsync(buyer.Id, customer!.Id, ct).ConfigureAwait(false);
                customerId = customer!.Id;
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [PolarMetadata.UserIdKey] = buyer.Id };
            var checkout = await api.CreateCheckoutAsync(new PolarCheckoutCreate([productId], customerId, clientIp, successUrl, metadata), ct).ConfigureAwait(false);
            if (checkout.IsSuccess)
            {
                return new CheckoutOutcome { Url = checkout.Value!.Url, CheckoutId = checkout.Value.Id };
            }

            if (attempt == 0 && customerId == row.PolarCustomerId && IsUnknownCustomer(checkout.Error!))
            {
                // The bound customer no longer exists in Polar (deleted in the dashboard): forget the binding and
                // find or create the user's customer again, once.
                await billing.UnbindCustomerAsync(buyer.Id, customerId, ct).ConfigureAwait(false);
                customerId = null;
                continue;
            }

            return CheckoutOutcome.Failed(checkout.Error!);
        }
    }

    /// <summary>Whether <see cref="KavachPolarOptions.OneTimePurchaseLimit"/> names <paramref name="productId"/> (by id or slug).</summary>
    private bool IsLimitedToOnce(string productId)
    {
        var current = options.CurrentValue;
        foreach (var limited in current.OneTimePurchaseLimit)
        {
            if (Products.IdOf(limited, current) == productId)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsUnknownCustomer(PolarApiError error) =>
        error.Kind == PolarErrorKind.Validation && error.FieldErrors.Any(f => f.Field == "customer_id");

    /// <summary>
    /// Polar's customer with <c>external_id</c> = user id, created when missing. When the user's email already
    /// belongs to another customer, that customer is never used: it has another external id (or none), and only
    /// the Polar dashboard can say it is this user's.
    /// </summary>
    private async Task<(PolarCustomer? Customer, CheckoutOutcome? Failure)> FindOrCreateCustomerAsync(CheckoutBuyer buyer, CancellationToken ct)
    {
        var existing = await api.FindCustomerByExternalIdAsync(buyer.Id, ct).ConfigureAwait(false);
        if (!existing.IsSuccess)
        {
            return (null, CheckoutOutcome.Failed(existing.Error!));
        }

        if (existing.Value is { } found)
        {
            return await billing.IsForgottenCustomerAsync(found.Id, ct).ConfigureAwait(false)
                ? (null, CheckoutOutcome.Failed(KavachPolarErrorCodes.UserForgotten))
                : (found, null);
        }

        if (buyer.Email is null)
        {
            return (null, CheckoutOutcome.Failed(KavachPolarErrorCodes.EmailRequired));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [PolarMetadata.UserIdKey] = buyer.Id };
        var created = await api.CreateCustomerAsync(new PolarCustomerCreate(buyer.Email, buyer.Name, buyer.Id, metadata), ct).ConfigureAwait(false);
        if (created.IsSuccess)
        {
            return (created.Value, null);
        }

        if (created.Error!.Kind != PolarErrorKind.Validation)
        {
            return (null, CheckoutOutcome.Failed(created.Error));
        }

        // Polar refuses a second customer with the same email (or, in a race, the same external id).
        var byEmail = await api.FindCustomerByEmailAsync(buyer.Email, ct).ConfigureAwait(false);
        if (!byEmail.IsSuccess)
        {
            return (null, CheckoutOutcome.Failed(byEmail.Error!));
        }

        if (byEmail.Value is { } owner)
        {
            if (owner.ExternalId == buyer.Id)
            {
                return (owner, null);
            }

            Log.CustomerConflict(logger, buyer.Id, owner.Id, owner.ExternalId ?? "");
            return (null, CheckoutOutcome.Failed(KavachPolarErrorCodes.CustomerConflict));
        }

        var again = await api.FindCustomerByExternalIdAsync(buyer.Id, ct).ConfigureAwait(false);
        return again is { IsSuccess: true, Value: { } raced }
            ? (raced, null)
            : (null, CheckoutOutcome.Failed(created.Error));
    }
}
