namespace KavachPolar.Storage.Cache;

/// <summary>
/// What the cache keeps per user: the current subscription, the products of the entitled ones, the benefits held (any
/// grant granted) and, once asked for, the grants behind them (<c>Services/BenefitReader</c>).
/// </summary>
internal sealed record CachedUser(KavachSubscription? Current, string[] EntitledProducts, string[]? HeldBenefits = null, IReadOnlyList<KavachBenefit>? BenefitDetails = null);
