namespace KavachPolar.Sample.Hosting;

/// <summary>How this run of the sample is set up, for the start-up banner and the pages.</summary>
/// <param name="UsesEmulator">Whether Polar is the in-process emulator.</param>
/// <param name="DatabaseProvider"><c>sqlite</c> or <c>postgres</c>.</param>
/// <param name="ConnectionString">The resolved connection string.</param>
public sealed record SampleSettings(bool UsesEmulator, string DatabaseProvider, string ConnectionString);
