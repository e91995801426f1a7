namespace KavachPolar.Testing;

/// <summary>A product the running emulator offers.</summary>
public sealed class EmulatorProduct
{
    internal EmulatorProduct(string id, string priceId, string name, long priceAmount, string currency, string? recurringInterval, int? recurringIntervalCount, string? trialInterval, int? trialIntervalCount, IReadOnlyList<string> benefitIds)
    {
        BenefitIds = benefitIds;
        Id = id;
        PriceId = priceId;
        Name = name;
        PriceAmount = priceAmount;
        Currency = currency;
        RecurringInterval = recurringInterval;
        RecurringIntervalCount = recurringIntervalCount;
        TrialInterval = trialInterval;
        TrialIntervalCount = trialIntervalCount;
    }

    /// <summary>The product id (UUID version 4).</summary>
    public string Id { get; }

    /// <summary>The id of the product's only price.</summary>
    public string PriceId { get; }

    /// <summary>The product name.</summary>
    public string Name { get; }

    /// <summary>The price in cents.</summary>
    public long PriceAmount { get; }

    /// <summary>The lowercase ISO currency code.</summary>
    public string Currency { get; }

    /// <summary>The recurring interval: <c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>; null for a one-time product.</summary>
    public string? RecurringInterval { get; }

    /// <summary>How many intervals one period lasts; null for a one-time product.</summary>
    public int? RecurringIntervalCount { get; }

    /// <summary>Whether the product is a subscription (Polar's <c>is_recurring</c>).</summary>
    public bool IsRecurring => RecurringInterval is not null;

    /// <summary>The trial's interval unit, or <see langword="null"/> when the product has no trial.</summary>
    public string? TrialInterval { get; }

    /// <summary>How many trial interval units the trial lasts.</summary>
    public int? TrialIntervalCount { get; }

    /// <summary>The ids of the benefits the product grants.</summary>
    public IReadOnlyList<string> BenefitIds { get; }
}
