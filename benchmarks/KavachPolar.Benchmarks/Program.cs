using BenchmarkDotNet.Running;
using KavachPolar.Benchmarks;

if (args is ["--interleaved"])
{
    InterleavedComparison.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
