namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Tests that stop and restart the chaos PostgreSQL cluster: one at a time, and never beside
/// other tests, so an outage one test causes never shows up in another.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosTests
{
    public const string Name = "chaos";
}
