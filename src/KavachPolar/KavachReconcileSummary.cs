namespace KavachPolar;

/// <summary>What <see cref="IKavachPolarSubscriptions.ReconcileAllAsync"/> did.</summary>
public sealed class KavachReconcileSummary
{
    /// <summary>Subscriptions read from Polar.</summary>
    public required int SubscriptionsRead { get; init; }

    /// <summary>Users whose current subscription changed.</summary>
    public required int Changes { get; init; }

    /// <summary>Orders read from Polar (every order of the organization, after the subscriptions).</summary>
    public int OrdersRead { get; init; }

    /// <summary>Set when Polar could not be read to the end; the pages read before were applied.</summary>
    public string? ErrorCode { get; init; }
}
