using KavachPolar.Storage.Cache;

namespace KavachPolar.Tests.Storage;

/// <summary>Both ends of the cache's channel log a run of failures the same way: the first three, then one in sixty.</summary>
public sealed class FailureRunTests
{
    [Fact]
    public void A_run_logs_its_first_three_failures_then_one_in_sixty_and_starts_over_when_it_ends()
    {
        var run = new FailureRun();
        var logged = Enumerable.Range(1, 130).Select(_ => run.Fail()).Where(f => f.Log).Select(f => f.InARow).ToList();

        Assert.Equal([1, 2, 3, 60, 120], logged);

        run.End();
        Assert.Equal((1, true), run.Fail());
    }
}
