using System.Diagnostics;
using System.Globalization;

namespace KavachPolar.Benchmarks;

/// <summary>
/// A cross-check of the BenchmarkDotNet classes for a busy machine: BenchmarkDotNet measures one method
/// after another, so a burst of other work lands on whichever runs at that moment. Here the methods take
/// turns in short rounds and each keeps its fastest round, so all of them see the same conditions.
/// Run with <c>-- --interleaved</c>.
/// </summary>
internal static class InterleavedComparison
{
    private const int Rounds = 2_000;

    public static void Run()
    {
        Console.WriteLine("| Method | BodyBytes | Min (ns) | Median (ns) | Min ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var size in new[] { 2 * 1024, 16 * 1024 })
        {
            var verifier = new VerifierBenchmarks { BodyBytes = size };
            verifier.Setup();
            Compare(size, [
                (nameof(VerifierBenchmarks.Hmac_over_concatenated_content), () => verifier.Hmac_over_concatenated_content()),
                (nameof(VerifierBenchmarks.Verify_legacy_secret), () => verifier.Verify_legacy_secret()),
                (nameof(VerifierBenchmarks.Verify_standard_secret_after_warm_up), () => verifier.Verify_standard_secret_after_warm_up()),
                (nameof(VerifierBenchmarks.StandardWebhooks_Verify), () => verifier.StandardWebhooks_Verify()),
            ]);
        }

        foreach (var size in new[] { 2 * 1024, 16 * 1024 })
        {
            var hmac = new HmacStrategyBenchmarks { BodyBytes = size };
            hmac.Setup();
            Compare(size, [
                (nameof(HmacStrategyBenchmarks.OneShot_over_concatenated_content), () => hmac.OneShot_over_concatenated_content()),
                (nameof(HmacStrategyBenchmarks.OneShot_over_pooled_copy), () => hmac.OneShot_over_pooled_copy()),
                (nameof(HmacStrategyBenchmarks.IncrementalHash_per_call), () => hmac.IncrementalHash_per_call()),
                (nameof(HmacStrategyBenchmarks.IncrementalHash_reused), () => hmac.IncrementalHash_reused()),
            ]);
            hmac.Cleanup();
        }
    }

    /// <summary>
    /// <see cref="GateBenchmarks"/> in turns (<c>-- --interleaved-gate</c>): what the gate adds to a request, each
    /// method's fastest round against the same endpoint without authorization.
    /// </summary>
    public static void RunGate()
    {
        var gate = new GateBenchmarks();
        gate.Setup();
        Console.WriteLine("| Method | | Min (ns) | Median (ns) | Min ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Compare(0, [
            (nameof(GateBenchmarks.Open), () => gate.Open().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.Authenticated), () => gate.Authenticated().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.RequireSubscription), () => gate.RequireSubscription().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.RequireSubscription_of_a_product_slug), () => gate.RequireSubscription_of_a_product_slug().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.Subscribed_policy), () => gate.Subscribed_policy().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.RequireBenefit), () => gate.RequireBenefit().GetAwaiter().GetResult()),
            (nameof(GateBenchmarks.RequireBenefit_of_a_slug), () => gate.RequireBenefit_of_a_slug().GetAwaiter().GetResult()),
        ], callsPerRound: 20);
        gate.Cleanup();
    }

    // The first method is the baseline of the ratio column.
    private static void Compare(int size, (string Name, Func<object> Call)[] methods, int callsPerRound = 0)
    {
        // About 0.2 ms per round whatever the size, short enough to fit between other processes' time slices.
        if (callsPerRound == 0)
        {
            callsPerRound = Math.Max(8, 409_600 / size);
        }

        var samples = methods.Select(_ => new double[Rounds]).ToArray();
        for (var round = -200; round < Rounds; round++)
        {
            for (var m = 0; m < methods.Length; m++)
            {
                var call = methods[m].Call;
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < callsPerRound; i++)
                {
                    call();
                }

                var nanoseconds = Stopwatch.GetElapsedTime(started).TotalNanoseconds / callsPerRound;
                if (round >= 0)
                {
                    samples[m][round] = nanoseconds;
                }
            }
        }

        var floor = samples[0].Min();
        for (var m = 0; m < methods.Length; m++)
        {
            Array.Sort(samples[m]);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {methods[m].Name} | {size} | {samples[m][0]:F0} | {samples[m][Rounds / 2]:F0} | {samples[m][0] / floor:F2} |"));
        }
    }
}
