namespace KavachPolar.Testing;

/// <summary>A product the emulator offers, with one fixed recurring price.</summary>
public sealed class EmulatorProductDefinition
{
    /// <summary>Creates a product definition.</summary>
    /// <param name="name">The product name shown on the checkout page and in payloads.</param>
    /// <param name="priceAmount">The price in cents.</param>
    /// <param name="recurringInterval">Polar's <c>RecurringInterval</c>: <c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>.</param>
    public EmulatorProductDefinition(string name, long priceAmount, string recurringInterval = "month")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(priceAmount);
        ArgumentException.ThrowIfNullOrEmpty(recurringInterval);
        Name = name;
        PriceAmount = priceAmount;
        RecurringInterval = recurringInterval;
    }

    /// <summary>A fixed product id (a UUID version 4); a random one when <see langword="null"/>.</summary>
    public string? Id { get; set; }

    /// <summary>The product name.</summary>
    public string Name { get; }

    /// <summary>The product description.</summary>
    public string? Description { get; set; }

    /// <summary>The price in cents.</summary>
    public long PriceAmount { get; }

    /// <summary>The lowercase ISO currency code; <c>usd</c> by default.</summary>
    public string Currency { get; set; } = "usd";

    /// <summary>The recurring interval: <c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>.</summary>
    public string RecurringInterval { get; }

    /// <summary>How many intervals one period lasts; 1 by default.</summary>
    public int RecurringIntervalCount { get; set; } = 1;

    /// <summary>The trial's interval unit (<c>day</c>, <c>week</c>, <c>month</c>, <c>year</c>), or <see langword="null"/> for no trial.</summary>
    public string? TrialInterval { get; set; }

    /// <summary>How many trial interval units the trial lasts.</summary>
    public int? TrialIntervalCount { get; set; }

    /// <summary>The ids of the benefits the product grants (see <see cref="PolarEmulatorOptions.Benefits"/>), in order.</summary>
    public IList<string> BenefitIds { get; } = new List<string>();

    /// <summary>The product's metadata.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
