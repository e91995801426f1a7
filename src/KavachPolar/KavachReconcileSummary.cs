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

    /// <summary>Benefit grants read from Polar (every grant of the organization, granted or not).</summary>
    public int BenefitGrantsRead { get; init; }

    /// <summary>(User, benefit) pairs whose hold changed: a benefit now held, or no longer held.</summary>
    public int BenefitChanges { get; init; }

    /// <summary>
    /// Set when Polar could not be read to the end: the subscription pages read before were applied; the grants are
    /// applied only once all of them were read.
    /// </summary>
    public string? ErrorCode { get; init; }
}
