using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;

namespace KavachPolar.Benchmarks;

/// <summary>
/// Ways to compute HMAC-SHA256 over <c>prefix ‖ body</c> when the two are separate buffers, as they are in
/// <see cref="Webhooks.PolarWebhookVerifier"/>: why it keeps one <see cref="IncrementalHash"/> per key and
/// thread instead of copying the body or creating a context per call.
/// </summary>
// Min and median beside the mean: on a shared 2-core machine, other work only ever adds time, so the
// minimum is the steadiest figure to compare.
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class HmacStrategyBenchmarks
{
    private readonly byte[] _mac = new byte[32];
    private byte[] _key = [];
    private byte[] _prefix = [];
    private byte[] _body = [];
    private byte[] _signedContent = [];
    private IncrementalHash _cached = null!;

    /// <summary>Body size in bytes.</summary>
    [Params(2 * 1024, 16 * 1024)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = Encoding.UTF8.GetBytes("whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV");
        _prefix = Encoding.UTF8.GetBytes("3e0a7f8c-2d4b-4c6e-9a1f-5b7d9e2c4a60.1790846208.");
        _body = PolarPayloads.Create(BodyBytes);
        _signedContent = [.. _prefix, .. _body];
        _cached = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
    }

    [GlobalCleanup]
    public void Cleanup() => _cached.Dispose();

    /// <summary>The floor used by <see cref="VerifierBenchmarks"/>: one-shot over one array.</summary>
    [Benchmark(Baseline = true)]
    public byte OneShot_over_concatenated_content()
    {
        HMACSHA256.HashData(_key, _signedContent, _mac);
        return _mac[0];
    }

    /// <summary>Copy prefix and body into a pooled buffer, then one-shot.</summary>
    [Benchmark]
    public byte OneShot_over_pooled_copy()
    {
        var length = _prefix.Length + _body.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        _prefix.CopyTo(buffer, 0);
        _body.CopyTo(buffer, _prefix.Length);
        HMACSHA256.HashData(_key, buffer.AsSpan(0, length), _mac);
        ArrayPool<byte>.Shared.Return(buffer);
        return _mac[0];
    }

    /// <summary>A new HMAC context per call, fed prefix then body.</summary>
    [Benchmark]
    public byte IncrementalHash_per_call()
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(_prefix);
        hmac.AppendData(_body);
        hmac.GetHashAndReset(_mac);
        return _mac[0];
    }

    /// <summary>What the verifier does: a reused HMAC context (the key schedule is kept), fed prefix then body.</summary>
    [Benchmark]
    public byte IncrementalHash_reused()
    {
        _cached.AppendData(_prefix.AsSpan());
        _cached.AppendData(_body.AsSpan());
        _cached.GetHashAndReset(_mac);
        return _mac[0];
    }
}
