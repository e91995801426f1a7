using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using KavachPolar.Webhooks;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace KavachPolar.Benchmarks;

/// <summary>
/// One valid delivery verified by <see cref="PolarWebhookVerifier"/>, against the floor (a bare HMAC over
/// the already concatenated signed content) and the StandardWebhooks package.
/// </summary>
// Min and median beside the mean: on a shared 2-core machine, other work only ever adds time, so the
// minimum is the steadiest figure to compare.
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class VerifierBenchmarks
{
    private const string LegacySecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";

    // A Standard Webhooks secret (base64 after whsec_), which the StandardWebhooks package accepts.
    private const string StandardSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private readonly byte[] _mac = new byte[32];
    private byte[] _body = [];
    private byte[] _signedContent = [];
    private byte[] _legacyKey = [];
    private string _id = "";
    private string _timestamp = "";
    private string _legacySignature = "";
    private string _standardSignature = "";
    private string _bodyText = "";
    private PolarWebhookVerifier _legacyVerifier = null!;
    private PolarWebhookVerifier _standardVerifier = null!;
    private StandardWebhook _standardWebhook = null!;
    private HeaderDictionary _standardHeaders = null!;

    /// <summary>Body size in bytes.</summary>
    [Params(2 * 1024, 16 * 1024)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = PolarPayloads.Create(BodyBytes);
        _bodyText = Encoding.UTF8.GetString(_body);
        _id = Guid.NewGuid().ToString();

        // Now, not a fixed instant: the StandardWebhooks package reads the system clock and applies 5 minutes.
        _timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        _signedContent = [.. Encoding.UTF8.GetBytes($"{_id}.{_timestamp}."), .. _body];

        _legacyKey = Encoding.UTF8.GetBytes(LegacySecret);
        _legacySignature = "v1," + Convert.ToBase64String(HMACSHA256.HashData(_legacyKey, _signedContent));
        var standardKey = Convert.FromBase64String(StandardSecret["whsec_".Length..]);
        _standardSignature = "v1," + Convert.ToBase64String(HMACSHA256.HashData(standardKey, _signedContent));

        var tolerance = TimeSpan.FromMinutes(5);
        _legacyVerifier = new PolarWebhookVerifier([LegacySecret], tolerance);
        _standardVerifier = new PolarWebhookVerifier([StandardSecret], tolerance);

        // The first standard-signed delivery tries the secret's UTF-8 key, then the decoded one, and the
        // verifier remembers the latter: what every later delivery of that endpoint sees.
        Check(_standardVerifier.Verify(_id, _timestamp, _standardSignature, _body).IsValid);
        Check(_legacyVerifier.Verify(_id, _timestamp, _legacySignature, _body).IsValid);

        _standardWebhook = new StandardWebhook(StandardSecret);
        _standardHeaders = new HeaderDictionary
        {
            ["webhook-id"] = _id,
            ["webhook-timestamp"] = _timestamp,
            ["webhook-signature"] = _standardSignature,
        };
        _standardWebhook.Verify(_bodyText, _standardHeaders);
    }

    /// <summary>The floor: one-shot HMAC-SHA256 over signed content that is already one array.</summary>
    [Benchmark(Baseline = true)]
    public byte Hmac_over_concatenated_content()
    {
        HMACSHA256.HashData(_legacyKey, _signedContent, _mac);
        return _mac[0];
    }

    /// <summary>A legacy endpoint: the first key tried (the secret's UTF-8 bytes) matches.</summary>
    [Benchmark]
    public bool Verify_legacy_secret() => _legacyVerifier.Verify(_id, _timestamp, _legacySignature, _body).IsValid;

    /// <summary>A Standard Webhooks endpoint after its first delivery: the remembered second key matches.</summary>
    [Benchmark]
    public bool Verify_standard_secret_after_warm_up() => _standardVerifier.Verify(_id, _timestamp, _standardSignature, _body).IsValid;

    /// <summary>
    /// The StandardWebhooks package on the same delivery, given the body already decoded to a string and
    /// the headers already in a dictionary (its API needs both), which favours it.
    /// </summary>
    [Benchmark]
    public bool StandardWebhooks_Verify()
    {
        _standardWebhook.Verify(_bodyText, _standardHeaders);
        return true;
    }

    private static void Check(bool valid)
    {
        if (!valid)
        {
            throw new InvalidOperationException("Benchmark setup produced an invalid delivery.");
        }
    }
}
