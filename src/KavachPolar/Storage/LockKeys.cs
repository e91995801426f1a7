namespace KavachPolar.Storage;

/// <summary>
/// Names of the transaction-scoped locks (<see cref="StoreTransactions.LockAsync"/>) that serialize work per Polar
/// customer and per user across app instances. Take at most one customer lock, then user locks in ordinal order.
/// </summary>
internal static class LockKeys
{
    public static string Customer(string customerId) => "kavach:customer:" + customerId;

    public static string User(string userId) => "kavach:user:" + userId;
}
