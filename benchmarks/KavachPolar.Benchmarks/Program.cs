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

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
