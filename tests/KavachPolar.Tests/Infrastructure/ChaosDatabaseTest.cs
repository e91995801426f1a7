namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// A <see cref="DatabaseTest"/> whose database is on the chaos cluster, which its tests may stop: the cluster is
/// started again, if a test left it stopped, before the database is dropped.
/// </summary>
public abstract class ChaosDatabaseTest : DatabaseTest
{
    protected ChaosPostgres Chaos { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Chaos = ChaosPostgres.FromEnvironmentOrFail();
        await base.InitializeAsync();
    }

    protected override Task<PostgresDatabase> CreateDatabaseAsync() => Chaos.CreateDatabaseAsync(Ct);

    protected override async ValueTask DisposeAsyncCore()
    {
        await Chaos.EnsureRunningAsync(CancellationToken.None);
        await base.DisposeAsyncCore();
    }
}
