using BenchmarkDotNet.Running;
using KavachPolar.Benchmarks;

if (args is ["--interleaved"])
{
    InterleavedComparison.Run();
    return;
}

if (args is ["--interleaved-gate"])
{
    InterleavedComparison.RunGate();
    return;
}

if (args is ["--usage-throughput", ..] && (args.Length == 1 || int.TryParse(args[1], out _)))
{
    await UsageRuns.ThroughputAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
    return;
}

if (args is ["--usage-soak", var polarUrl, ..])
{
    await UsageRuns.SoakAsync(new Uri(polarUrl), args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
