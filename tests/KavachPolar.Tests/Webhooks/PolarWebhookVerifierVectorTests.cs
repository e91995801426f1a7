using System.Security.Cryptography;
using KavachPolar.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace KavachPolar.Tests.Webhooks;

/// <summary>
/// The signature vectors in <c>tests/TestData/signature-test-vectors.json</c>, one test each: computed apart from the code
/// under test, with Python's <c>hmac</c>, and cross-checked with openssl.
/// </summary>
public sealed class PolarWebhookVerifierVectorTests
{
    public static TheoryData<string> PositiveVectors => [.. SignatureTestVectors.All.Where(v => v.Expected is null).Select(v => v.Name)];

    public static TheoryData<string> NegativeVectors => [.. SignatureTestVectors.All.Where(v => v.Expected is not null).Select(v => v.Name)];

    [Fact]
    public void Every_vector_is_either_positive_or_a_documented_rejection()
    {
        Assert.Equal(7, SignatureTestVectors.All.Count);
        Assert.All(SignatureTestVectors.All, v => Assert.NotNull(v.ExpectedSignature));
        Assert.All(
            SignatureTestVectors.All.Where(v => v.Expected is not null),
            v => Assert.StartsWith("reject", v.Expected, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(PositiveVectors))]
    public void Positive_vector_is_valid_with_its_secret_at_its_timestamp(string name)
    {
        var vector = SignatureTestVectors.Named(name);
        var verifier = VerifierAtVectorTime(vector.Secret);

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, vector.ExpectedSignature, vector.BodyBytes);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, result.Status);
        Assert.True(result.IsValid);
    }

    [Theory]
    [MemberData(nameof(NegativeVectors))]
    public void Negative_vector_is_a_signature_mismatch(string name)
    {
        var vector = SignatureTestVectors.Named(name);
        var verifier = VerifierAtVectorTime(vector.Secret);

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, vector.ExpectedSignature, vector.BodyBytes);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, result.Status);
        Assert.False(result.IsValid);
    }

    [Theory]
    [MemberData(nameof(PositiveVectors))]
    public void Positive_vector_with_one_body_byte_changed_is_a_signature_mismatch(string name)
    {
        var vector = SignatureTestVectors.Named(name);
        var verifier = VerifierAtVectorTime(vector.Secret);
        var body = vector.BodyBytes;
        body[body.Length / 2] ^= 0x01;

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, vector.ExpectedSignature, body);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, result.Status);
    }

    [Fact]
    public void Legacy_secret_key_is_the_utf8_bytes_of_the_whole_secret()
    {
        var vector = SignatureTestVectors.Named("legacy_short_body");

        var keys = KeysOf(vector.Secret);

        Assert.Equal(vector.HmacKeyHex, Convert.ToHexStringLower(keys[0]));
        Assert.Equal(190, vector.BodyBytes.Length);
    }

    [Fact]
    public void Standard_secret_second_key_is_the_base64_decoded_part_after_whsec()
    {
        var vector = SignatureTestVectors.Named("standard_short_body");

        var keys = KeysOf(vector.Secret);

        Assert.Equal(2, keys.Length);
        Assert.Equal(vector.HmacKeyHex, Convert.ToHexStringLower(keys[1]));
    }

    [Fact]
    public void Full_subscription_body_is_loaded_byte_for_byte()
    {
        var vector = SignatureTestVectors.Named("legacy_full_subscription_created");

        Assert.Equal(vector.BodySha256Hex, Convert.ToHexStringLower(SHA256.HashData(vector.BodyBytes)));
    }

    // The legacy secret's 43-character remainder is valid forgiving base64, so like Polar's SDK 1.0.1 we
    // also derive the "standard" key from it and accept its signature. Polar never sends that signature
    // for a legacy endpoint, and forging it needs the secret, so accepting it costs nothing.
    [Fact]
    public void Standard_key_derived_from_a_legacy_secret_is_accepted_like_the_official_sdk()
    {
        var vector = SignatureTestVectors.Named("info_standard_key_derived_from_legacy_secret");
        var verifier = VerifierAtVectorTime(vector.Secret);

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, vector.ExpectedSignature, vector.BodyBytes);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, result.Status);
        Assert.Equal(vector.DerivedKeyHex, Convert.ToHexStringLower(KeysOf(vector.Secret)[1]));
    }

    [Fact]
    public void Multi_signature_header_is_valid_when_a_later_entry_matches()
    {
        var vector = SignatureTestVectors.Named("legacy_short_body");
        var verifier = VerifierAtVectorTime(vector.Secret);

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, SignatureTestVectors.MultiSignatureHeader, vector.BodyBytes);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, result.Status);
    }

    [Fact]
    public void Multi_signature_header_without_its_matching_entry_is_a_signature_mismatch()
    {
        var vector = SignatureTestVectors.Named("legacy_short_body");
        var verifier = VerifierAtVectorTime(vector.Secret);
        var zerosOnly = SignatureTestVectors.MultiSignatureHeader.Split(' ')[0];

        var result = verifier.Verify(SignatureTestVectors.WebhookId, SignatureTestVectors.WebhookTimestamp, zerosOnly, vector.BodyBytes);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, result.Status);
    }

    private static PolarWebhookVerifier VerifierAtVectorTime(string secret) =>
        new([secret], TimeSpan.FromMinutes(5), new FakeTimeProvider(SignatureTestVectors.SignedAt));

    private static byte[][] KeysOf(string secret) => PolarWebhookKeyDerivation.DeriveKeys([secret], "secrets");
}
