namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Base of a test class whose tests each get a fresh database: xunit makes one instance of the class per test, so
/// <see cref="InitializeAsync"/> creates the database before each test and <see cref="DisposeAsync"/> drops it after.
/// </summary>
public abstract class DatabaseTest : IAsyncLifetime
{
    private SqlProbe? _probe;

    /// <summary>This test's database.</summary>
    protected PostgresDatabase Db { get; private set; } = null!;

    /// <summary>Unpooled SQL against <see cref="Db"/>, to look at the store without touching the app's pooled connections.</summary>
    protected SqlProbe Probe => _probe ??= new SqlProbe(Db.ConnectionString);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Creates this test's database; on the main cluster unless a class says otherwise.</summary>
    protected virtual Task<PostgresDatabase> CreateDatabaseAsync() => PostgresDatabase.CreateAsync(Ct);

    public virtual async ValueTask InitializeAsync() => Db = await CreateDatabaseAsync();

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops what the test used, the last thing first; the base drops the database.</summary>
    protected virtual async ValueTask DisposeAsyncCore() => await Db.DisposeAsync();
}
