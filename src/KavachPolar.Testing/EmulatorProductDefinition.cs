namespace KavachPolar.Testing;

/// <summary>
/// A product the emulator offers, with one fixed price: recurring (a subscription), or one-time (a purchase, made with
/// <see cref="OneTime"/>).
/// </summary>
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

    private EmulatorProductDefinition(string name, long priceAmount)
    {
        Name = name;
        PriceAmount = priceAmount;
    }

    /// <summary>
    /// A one-time product, as Polar has them: <c>is_recurring</c> false, <c>recurring_interval</c> null, a
    /// <c>one_time</c> price. Paying its checkout creates a paid order (<c>billing_reason</c> <c>purchase</c>) and no
    /// subscription, and grants its benefits to that order.
    /// </summary>
    /// <param name="name">The product name.</param>
    /// <param name="priceAmount">The price in cents.</param>
    public static EmulatorProductDefinition OneTime(string name, long priceAmount)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(priceAmount);
        return new EmulatorProductDefinition(name, priceAmount);
    }

    /// <summary>Sets the id, the description and the benefits; for the demo catalogue.</summary>
    internal EmulatorProductDefinition With(string id, string description, params string[] benefitIds)
    {
        Id = id;
        Description = description;
        foreach (var b in benefitIds)
        {
            BenefitIds.Add(b);
        }

        return this;
    }

    /// <summary>Whether the product is a subscription (<c>is_recurring</c>); false for <see cref="OneTime"/> products.</summary>
    public bool IsRecurring => RecurringInterval is not null;

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

    /// <summary>The recurring interval: <c>day</c>, <c>week</c>, <c>month</c> or <c>year</c>; null for a one-time product.</summary>
    public string? RecurringInterval { get; }

    /// <summary>How many intervals one period lasts; 1 by default (ignored for a one-time product).</summary>
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
