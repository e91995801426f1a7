namespace KavachPolar.Storage.Cache;

/// <summary>What the cache keeps per user: the current subscription and the products of the entitled ones.</summary>
internal sealed record CachedUser(KavachSubscription? Current, string[] EntitledProducts);
