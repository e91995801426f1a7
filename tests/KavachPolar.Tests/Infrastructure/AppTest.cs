namespace KavachPolar.Tests.Infrastructure;

/// <summary>A <see cref="DatabaseTest"/> with the host app on that database, started before each test and stopped after.</summary>
public abstract class AppTest : DatabaseTest
{
    protected KavachTestApp App { get; private set; } = null!;

    /// <summary>Starts the app every test of the class begins with: by default one with no Polar behind it.</summary>
    protected virtual Task<KavachTestApp> StartAppAsync() => KavachTestApp.StartAsync(Db.ConnectionString);

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        App = await StartAppAsync();
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await App.DisposeAsync();
        await base.DisposeAsyncCore();
    }
}
