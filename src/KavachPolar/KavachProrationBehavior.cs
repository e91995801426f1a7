namespace KavachPolar;

/// <summary>How Polar bills a plan change (<c>proration_behavior</c> of <c>PATCH /v1/subscriptions/{id}</c>).</summary>
public enum KavachProrationBehavior
{
    /// <summary>
    /// <c>invoice</c> (the default): the new product applies now, and the price difference for the rest of the
    /// period is charged (or credited) at once.
    /// </summary>
    Invoice,

    /// <summary><c>prorate</c>: the new product applies now; the price difference is added to the next invoice.</summary>
    Prorate,

    /// <summary><c>next_period</c>: the current product runs to the end of the period; the new one starts with the next.</summary>
    NextPeriod,
}
