using KavachPolar.Services;

namespace KavachPolar.Tests.Services;

/// <summary>
/// The read query returns a benefit held through several grants, or a product bought twice, once per row (no
/// <c>SELECT DISTINCT</c>, which sorts in PostgreSQL on every read): the reader keeps one of each.
/// </summary>
public sealed class SubscriptionReaderDistinctTests
{
    [Fact]
    public void Repeats_are_dropped_and_the_first_order_kept() =>
        Assert.Equal(["b", "a", "c"], SubscriptionReader.Distinct(["b", "a", "b", "c", "a"]));

    [Fact]
    public void Ids_that_differ_only_in_case_are_different_ids() =>
        Assert.Equal(["a", "A"], SubscriptionReader.Distinct(["a", "A"]));

    [Fact]
    public void An_array_without_repeats_is_kept_as_it_is()
    {
        string[] values = ["x", "y", "z"];
        Assert.Same(values, SubscriptionReader.Distinct(values));
        string[] empty = [];
        Assert.Same(empty, SubscriptionReader.Distinct(empty));
    }
}
