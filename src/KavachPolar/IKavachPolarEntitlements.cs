namespace KavachPolar;

/// <summary>
/// What a user may use, by benefit or one-time purchase, and what they ordered, from this app's database (the per-instance read cache, emptied on every instance
/// within a second of a change), never from Polar. Register nothing: <c>AddKavachPolar</c> does.
/// </summary>
public interface IKavachPolarEntitlements
{
    /// <summary>
    /// Whether the user holds <paramref name="benefit"/> (a Polar benefit id, or a slug of
    /// <see cref="KavachPolarOptions.Benefits"/>): any of their grants of it is granted. A failed grant (a Discord or
    /// GitHub account not linked yet) does not count; a revoked grant does not end access while another grant holds it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="benefit"/> is neither a UUID nor a configured slug.</exception>
    Task<bool> HasBenefitAsync(string userId, string benefit, CancellationToken cancellationToken = default);

    /// <summary>The benefits the user holds, one entry per benefit, with the granted grants that hold each.</summary>
    Task<IReadOnlyList<KavachBenefit>> GetBenefitsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the user has a one-time order of <paramref name="product"/> (a Polar product id, or a slug of
    /// <see cref="KavachPolarOptions.Products"/>) with status <c>paid</c> or <c>partially_refunded</c>: a partial refund
    /// keeps the purchase, a full refund ends it. Benefits of the purchase follow their grants instead
    /// (<see cref="HasBenefitAsync"/>), which a refund may revoke even when partial.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="product"/> is neither a UUID nor a configured slug.</exception>
    Task<bool> HasPurchasedAsync(string userId, string product, CancellationToken cancellationToken = default);

    /// <summary>
    /// The user's orders, newest first, at most <paramref name="limit"/> (1 to 1000): one-time purchases and their
    /// subscriptions' orders (renewals and plan changes included), whatever their status: the billing history.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not between 1 and 1000.</exception>
    Task<IReadOnlyList<KavachOrder>> GetOrdersAsync(string userId, int limit = 50, CancellationToken cancellationToken = default);
}
