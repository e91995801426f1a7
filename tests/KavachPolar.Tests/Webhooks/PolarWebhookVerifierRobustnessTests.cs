using System.Text;
using KavachPolar.Testing.Webhooks;
using KavachPolar.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace KavachPolar.Tests.Webhooks;

/// <summary>
/// Randomized inputs: whatever arrives, <see cref="PolarWebhookVerifier.Verify"/> returns a defined status
/// and never throws, and no single-character or single-byte change to a valid delivery keeps it valid.
/// The seed is printed; set <c>KAVACH_FUZZ_SEED</c> to replay a failure.
/// </summary>
public sealed class PolarWebhookVerifierRobustnessTests
{
    private const string LegacySecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";
    private const string StandardSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // Characters that matter to the parser (separators, digits, base64, signs) plus whitespace, controls,
    // non-ASCII letters and a lone surrogate.
    private const string Alphabet = "v1v2,. =+/-0123456789AZaz_\t\r\n\0\u007f\u00e9\u00a0\u0661\ud800\uffff";

    [Fact]
    public void Random_headers_and_bodies_never_throw_and_are_valid_only_with_the_signed_entry_intact()
    {
        var seed = Seed();
        var random = new Random(seed);
        var verifier = new PolarWebhookVerifier([LegacySecret, StandardSecret], TimeSpan.FromMinutes(5), new FakeTimeProvider(TestDelivery.Now));
        var valid = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);
        var seen = new Dictionary<PolarWebhookVerificationStatus, int>();

        for (var i = 0; i < 10_000; i++)
        {
            // Each header is either random, empty, null or the valid one, so deep paths are reached too.
            var id = Pick(random, valid.Id);
            var timestamp = Pick(random, valid.Timestamp);
            var signature = Pick(random, valid.Signature);
            var body = random.Next(4) == 0 ? valid.Body : RandomBytes(random);

            var result = verifier.Verify(id, timestamp, signature, body);

            // Splicing can legitimately keep the valid entry intact (e.g. appending " x" to the header).
            var keepsValidEntry = id == valid.Id && timestamp == valid.Timestamp && body == valid.Body
                && signature is not null && signature.Split(' ').Contains(valid.Signature);
            Assert.True(Enum.IsDefined(result.Status), $"seed {seed}, iteration {i}: undefined status {result.Status}");
            Assert.True(result.IsValid == keepsValidEntry, $"seed {seed}, iteration {i}: {result.Status} for signature header '{signature}'");
            seen[result.Status] = seen.GetValueOrDefault(result.Status) + 1;
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", seen.Select(p => $"{p.Key}: {p.Value}")));

        // The generator must reach every stage of the verifier, not only the first checks.
        Assert.All(
            [PolarWebhookVerificationStatus.MissingHeader, PolarWebhookVerificationStatus.MalformedHeader, PolarWebhookVerificationStatus.SignatureMismatch],
            s => Assert.True(seen.GetValueOrDefault(s) > 0, $"seed {seed}: never reached {s}"));
    }

    [Theory]
    [InlineData(PolarWebhookSigningMode.Legacy)]
    [InlineData(PolarWebhookSigningMode.Standard)]
    public void Changing_any_character_or_byte_of_a_valid_delivery_makes_it_invalid(PolarWebhookSigningMode mode)
    {
        var seed = Seed();
        var random = new Random(seed);
        var verifier = new PolarWebhookVerifier([StandardSecret], TimeSpan.FromMinutes(5), new FakeTimeProvider(TestDelivery.Now));
        var vector = SignatureTestVectors.Named("legacy_short_body");
        var valid = TestDelivery.Signed(StandardSecret, mode, vector.BodyBytes, id: SignatureTestVectors.WebhookId);
        Assert.True(Verify(verifier, valid).IsValid);

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < valid.Id.Length; i++)
            {
                AssertNotValid(verifier, valid with { Id = Mutate(valid.Id, i, random) }, seed, $"id[{i}]");
            }

            for (var i = 0; i < valid.Timestamp.Length; i++)
            {
                AssertNotValid(verifier, valid with { Timestamp = Mutate(valid.Timestamp, i, random) }, seed, $"timestamp[{i}]");
            }

            for (var i = 0; i < valid.Signature.Length; i++)
            {
                AssertNotValid(verifier, valid with { Signature = Mutate(valid.Signature, i, random) }, seed, $"signature[{i}]");
            }

            for (var i = 0; i < valid.Body.Length; i++)
            {
                var body = (byte[])valid.Body.Clone();
                body[i] ^= (byte)random.Next(1, 256);
                AssertNotValid(verifier, valid with { Body = body }, seed, $"body[{i}]");
            }
        }

        Assert.True(Verify(verifier, valid).IsValid);
    }

    private static int Seed()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("KAVACH_FUZZ_SEED"), out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed} (replay with KAVACH_FUZZ_SEED={seed})");
        return seed;
    }

    private static string? Pick(Random random, string valid) => random.Next(16) switch
    {
        0 => null,
        1 => "",
        >= 2 and <= 6 => valid,
        >= 7 and <= 9 => Splice(random, valid),
        _ => RandomString(random, random.Next(3) == 0 ? random.Next(2_000) : random.Next(60)),
    };

    // A valid header with a random fragment spliced in reaches the deeper checks more often than pure noise.
    private static string Splice(Random random, string valid)
    {
        var at = random.Next(valid.Length + 1);
        return valid[..at] + RandomString(random, random.Next(1, 6)) + valid[at..];
    }

    private static string RandomString(Random random, int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(random.Next(4) == 0 ? (char)random.Next(0, 0x10000) : Alphabet[random.Next(Alphabet.Length)]);
        }

        return builder.ToString();
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(3) == 0 ? random.Next(20_000) : random.Next(300)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Mutate(string value, int index, Random random)
    {
        var chars = value.ToCharArray();
        chars[index] = (char)(chars[index] ^ random.Next(1, 0x80));
        return new string(chars);
    }

    private static void AssertNotValid(PolarWebhookVerifier verifier, TestDelivery delivery, int seed, string where)
    {
        var result = Verify(verifier, delivery);
        Assert.True(Enum.IsDefined(result.Status), $"seed {seed}, {where}: undefined status");
        Assert.False(result.IsValid, $"seed {seed}, {where}: mutated delivery was valid");
    }

    private static PolarWebhookVerificationResult Verify(PolarWebhookVerifier verifier, TestDelivery delivery) =>
        verifier.Verify(delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body);
}
