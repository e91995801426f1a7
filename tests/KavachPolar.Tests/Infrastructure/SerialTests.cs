namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Tests that measure the whole process (memory held, for one): they run alone, after the parallel ones, so that
/// nothing else in the process moves the figures.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTests
{
    public const string Name = "serial";
}
