namespace KavachPolar.Storage.Cache;

/// <summary>
/// What the cache keeps per user: the current subscription, the products of the entitled ones, the benefits held (any
/// grant granted), once asked for the grants behind them (<c>Services/BenefitReader</c>), and the products of their
/// one-time orders that count as purchased (status <c>paid</c> or <c>partially_refunded</c>).
/// </summary>
internal sealed record CachedUser(KavachSubscription? Current, string[] EntitledProducts, string[]? HeldBenefits = null, IReadOnlyList<KavachBenefit>? BenefitDetails = null, string[]? PurchasedProducts = null);
