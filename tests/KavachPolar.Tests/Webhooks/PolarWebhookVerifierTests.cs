using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KavachPolar.Testing.Webhooks;
using KavachPolar.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace KavachPolar.Tests.Webhooks;

public sealed class PolarWebhookVerifierTests
{
    private const string LegacySecret = "whsec_7Yt3QpL9sXw2Vb8Nc4Rz6Kd1Hf5Jm0Ga3Tu7E470LZV";
    private const string StandardSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    private const string OldPolarSecret = "polar_whs_k3J9dQ2mX8vR4tN7wB1cL6pZ0sY5hF3gA9eU2iO";
    private const string MerchantSecret = "my merchant-supplied secret, not base64!";

    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData(300)]
    [InlineData(-300)]
    [InlineData(0)]
    public void Timestamp_within_tolerance_in_either_direction_is_valid(int offsetSeconds)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddSeconds(offsetSeconds));

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Timestamp_301_seconds_ahead_is_too_new()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddSeconds(301));

        Assert.Equal(PolarWebhookVerificationStatus.TimestampTooNew, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Timestamp_301_seconds_old_is_too_old()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddSeconds(-301));

        Assert.Equal(PolarWebhookVerificationStatus.TimestampTooOld, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Clock_is_compared_in_whole_seconds()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddSeconds(-300));
        var clock = new FakeTimeProvider(TestDelivery.Now.AddMilliseconds(999));

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(new PolarWebhookVerifier([LegacySecret], Tolerance, clock), delivery));
    }

    [Fact]
    public void Stale_timestamp_is_reported_even_when_the_signature_is_also_wrong()
    {
        var delivery = TestDelivery.Signed(MerchantSecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddHours(-1));

        Assert.Equal(PolarWebhookVerificationStatus.TimestampTooOld, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Default_clock_is_the_system_clock()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: DateTimeOffset.UtcNow);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(new PolarWebhookVerifier([LegacySecret], Tolerance), delivery));
    }

    [Theory]
    [InlineData(LegacySecret, PolarWebhookSigningMode.Legacy)]
    [InlineData(StandardSecret, PolarWebhookSigningMode.Legacy)]
    [InlineData(StandardSecret, PolarWebhookSigningMode.Standard)]
    [InlineData(OldPolarSecret, PolarWebhookSigningMode.Legacy)]
    [InlineData(MerchantSecret, PolarWebhookSigningMode.Legacy)]
    public void Delivery_signed_with_either_derivation_of_the_secret_is_valid(string secret, PolarWebhookSigningMode mode)
    {
        var delivery = TestDelivery.Signed(secret, mode);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(Verifier(secret), delivery));
    }

    [Fact]
    public void Old_polar_whs_secret_has_only_its_utf8_key()
    {
        Assert.Equal(1, Verifier(OldPolarSecret).KeyCount);
    }

    [Fact]
    public void Secret_that_is_not_base64_is_accepted_with_its_utf8_key_only()
    {
        Assert.Equal(1, Verifier(MerchantSecret).KeyCount);
        Assert.Null(PolarWebhookKeyDerivation.DecodeForgivingBase64(MerchantSecret));
    }

    [Fact]
    public void During_rotation_deliveries_signed_with_the_new_or_the_old_secret_are_valid()
    {
        var newSecret = PolarWebhookSigner.CreateStandardSecret();
        var verifier = new PolarWebhookVerifier([newSecret, LegacySecret], Tolerance, new FakeTimeProvider(TestDelivery.Now));

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, TestDelivery.Signed(newSecret, PolarWebhookSigningMode.Standard)));
        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy)));
        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, TestDelivery.Signed(newSecret, PolarWebhookSigningMode.Standard)));
        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(verifier, TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard)));
    }

    [Fact]
    public void Keys_keep_the_order_of_the_secrets_and_skip_duplicates()
    {
        var keys = PolarWebhookKeyDerivation.DeriveKeys([StandardSecret, OldPolarSecret, StandardSecret], "secrets");

        Assert.Equal(3, keys.Length);
        Assert.Equal(Encoding.UTF8.GetBytes(StandardSecret), keys[0]);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i), keys[1]);
        Assert.Equal(Encoding.UTF8.GetBytes(OldPolarSecret), keys[2]);
    }

    [Fact]
    public void Standard_signed_deliveries_cost_the_second_key_only_once()
    {
        var verifier = Verifier(StandardSecret);
        Assert.Equal(0, verifier.LastMatchedKey);

        for (var i = 0; i < 5; i++)
        {
            var delivery = TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard, id: $"msg_{i}");
            Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, delivery));
            Assert.Equal(1, verifier.LastMatchedKey);
        }

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Legacy)));
        Assert.Equal(0, verifier.LastMatchedKey);
        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(verifier, TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard)));
        Assert.Equal(1, verifier.LastMatchedKey);
    }

    [Fact]
    public void Remembered_key_is_not_changed_by_a_mismatch()
    {
        var verifier = Verifier(StandardSecret);
        Verify(verifier, TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard));

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(verifier, TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy)));
        Assert.Equal(1, verifier.LastMatchedKey);
    }

    [Fact]
    public void Several_verifiers_used_alternately_on_one_thread_stay_correct()
    {
        var legacy = Verifier(LegacySecret);
        var standard = Verifier(StandardSecret);
        var legacyDelivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);
        var standardDelivery = TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(legacy, legacyDelivery));
            Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(legacy, standardDelivery));
            Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(standard, standardDelivery));
            Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(standard, legacyDelivery));
        }
    }

    [Fact]
    public async Task Concurrent_calls_from_many_threads_are_all_valid()
    {
        var verifier = Verifier(StandardSecret);
        var deliveries = Enumerable.Range(0, 8)
            .Select(i => TestDelivery.Signed(StandardSecret, i % 2 == 0 ? PolarWebhookSigningMode.Standard : PolarWebhookSigningMode.Legacy, id: $"msg_{i}"))
            .ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(
            () => Enumerable.Range(0, 200).All(i => Verify(verifier, deliveries[(t + i) % deliveries.Length]) == PolarWebhookVerificationStatus.Valid),
            TestContext.Current.CancellationToken)));

        Assert.All(results, Assert.True);
    }

    [Fact]
    public void Signed_content_uses_the_timestamp_digits_as_received()
    {
        var timestamp = "0" + TestDelivery.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var body = "{}"u8.ToArray();
        var signedContent = Encoding.UTF8.GetBytes($"msg_1.{timestamp}.").Concat(body).ToArray();
        var signature = "v1," + Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(LegacySecret), signedContent));

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verifier(LegacySecret).Verify("msg_1", timestamp, signature, body).Status);
    }

    [Fact]
    public void Empty_body_can_be_verified()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, body: []);

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(Verifier(LegacySecret), delivery));
    }

    [Theory]
    [InlineData(null, "1790846208", "v1,x")]
    [InlineData("", "1790846208", "v1,x")]
    [InlineData("msg_1", null, "v1,x")]
    [InlineData("msg_1", "", "v1,x")]
    [InlineData("msg_1", "1790846208", null)]
    [InlineData("msg_1", "1790846208", "")]
    [InlineData(null, null, null)]
    [InlineData("a.b", null, "v1,x")]
    public void Missing_or_empty_header_is_missing(string? id, string? timestamp, string? signature)
    {
        Assert.Equal(PolarWebhookVerificationStatus.MissingHeader, Verifier(LegacySecret).Verify(id, timestamp, signature, "{}"u8).Status);
    }

    [Theory]
    [InlineData("msg.1")]
    [InlineData(".")]
    [InlineData("msg 1")]
    [InlineData(" msg_1")]
    [InlineData("msg_1\t")]
    [InlineData("msg_1\n")]
    [InlineData("msg\r\n1")]
    [InlineData("msg\u00001")]
    [InlineData("msg\u007f1")]
    [InlineData("msg\u00851")]
    [InlineData("msg\u00a01")]
    [InlineData("caf\u00e9")]
    [InlineData("msg\ud8001")]
    public void Webhook_id_with_a_dot_whitespace_control_or_non_ascii_character_is_malformed(string id)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy) with { Id = id };

        Assert.Equal(PolarWebhookVerificationStatus.MalformedHeader, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Webhook_id_up_to_256_characters_is_accepted_and_longer_is_malformed()
    {
        var longest = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, id: new string('a', 256));
        var tooLong = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, id: new string('a', 257));

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(Verifier(LegacySecret), longest));
        Assert.Equal(PolarWebhookVerificationStatus.MalformedHeader, Verify(Verifier(LegacySecret), tooLong));
    }

    [Theory]
    [InlineData("-1790846208")]
    [InlineData("+1790846208")]
    [InlineData("+5")]
    [InlineData("-5")]
    [InlineData("1790846208.5")]
    [InlineData("1790846208.0")]
    [InlineData(" 1790846208")]
    [InlineData("1790846208 ")]
    [InlineData("1 790 846 208")]
    [InlineData("1e9")]
    [InlineData("0x6AB6F000")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("99999999999999999999")]
    [InlineData("9223372036854775808")]
    [InlineData("00000000000000000001790846208")]
    [InlineData("\u0661\u0667\u0669\u0660")]
    [InlineData("\uff11\uff17\uff19\uff10")]
    public void Webhook_timestamp_that_is_not_plain_digits_fitting_a_long_is_malformed(string timestamp)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy) with { Timestamp = timestamp };

        Assert.Equal(PolarWebhookVerificationStatus.MalformedHeader, Verify(Verifier(LegacySecret), delivery));
    }

    [Theory]
    [InlineData("9223372036854775807", PolarWebhookVerificationStatus.TimestampTooNew)]
    [InlineData("0", PolarWebhookVerificationStatus.TimestampTooOld)]
    [InlineData("1", PolarWebhookVerificationStatus.TimestampTooOld)]
    public void Extreme_but_well_formed_timestamps_are_out_of_tolerance(string timestamp, PolarWebhookVerificationStatus expected)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy) with { Timestamp = timestamp };

        Assert.Equal(expected, Verify(Verifier(LegacySecret), delivery));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("v1")]
    [InlineData("v1 ")]
    [InlineData("   ")]
    [InlineData("1,AAAA")]
    [InlineData(",AAAA")]
    [InlineData("v,AAAA")]
    [InlineData("vx,AAAA")]
    [InlineData("V1,AAAA")]
    [InlineData("v1;AAAA")]
    [InlineData("sha256=f558a4dcd537b213f6fdf8d612574f9e2752377704db423c3f5228f49898a8d1")]
    [InlineData("t=1790846208,v1=f558a4dcd537b213f6fdf8d612574f9e2752377704db423c3f5228f49898a8d1")]
    public void Signature_header_without_any_versioned_entry_is_malformed(string signature)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy) with { Signature = signature };

        Assert.Equal(PolarWebhookVerificationStatus.MalformedHeader, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Malformed_signature_header_is_reported_before_a_stale_timestamp()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy, timestamp: TestDelivery.Now.AddDays(-1)) with { Signature = "garbage" };

        Assert.Equal(PolarWebhookVerificationStatus.MalformedHeader, Verify(Verifier(LegacySecret), delivery));
    }

    [Theory]
    [InlineData("v1,")]
    [InlineData("v1,!!!!not-base64!!!!")]
    [InlineData("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("v2,AAAA")]
    [InlineData("v10,AAAA v0,AAAA")]
    public void Well_formed_header_with_no_matching_v1_entry_is_a_signature_mismatch(string signature)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy) with { Signature = signature };

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Valid_signature_under_another_version_is_ignored()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);
        var asV2 = delivery with { Signature = "v2," + delivery.Signature[3..] };

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), asV2));
    }

    [Theory]
    [InlineData("v2,AAAA {0}")]
    [InlineData("{0} v2,AAAA")]
    [InlineData("v1,!!garbage!! {0}")]
    [InlineData("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA== {0}")]
    [InlineData("nonsense {0}")]
    [InlineData("  {0}  ")]
    [InlineData("v1a,x,y {0}")]
    public void Matching_v1_entry_among_other_entries_is_valid(string format)
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);
        var mixed = delivery with { Signature = string.Format(CultureInfo.InvariantCulture, format, delivery.Signature) };

        Assert.Equal(PolarWebhookVerificationStatus.Valid, Verify(Verifier(LegacySecret), mixed));
    }

    [Fact]
    public void Signature_with_non_canonical_trailing_bits_is_not_accepted()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);
        var chars = delivery.Signature.ToCharArray();
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var last = alphabet.IndexOf(chars[^2], StringComparison.Ordinal);
        chars[^2] = alphabet[last | 1];

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), delivery with { Signature = new string(chars) }));
    }

    [Fact]
    public void Signature_with_whitespace_inside_its_base64_is_not_accepted()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), delivery with { Signature = delivery.Signature.Insert(10, "\t") }));
    }

    [Fact]
    public void Signature_of_another_secret_is_a_mismatch()
    {
        var delivery = TestDelivery.Signed(StandardSecret, PolarWebhookSigningMode.Standard);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), delivery));
    }

    [Fact]
    public void Signature_of_another_id_is_a_mismatch()
    {
        var delivery = TestDelivery.Signed(LegacySecret, PolarWebhookSigningMode.Legacy);

        Assert.Equal(PolarWebhookVerificationStatus.SignatureMismatch, Verify(Verifier(LegacySecret), delivery with { Id = "msg_other" }));
    }

    [Fact]
    public void Constructor_rejects_a_missing_secret_list()
    {
        Assert.Throws<ArgumentNullException>(() => new PolarWebhookVerifier(null!, Tolerance));
    }

    [Fact]
    public void Constructor_rejects_an_empty_secret_list()
    {
        Assert.Throws<ArgumentException>(() => new PolarWebhookVerifier([], Tolerance));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Constructor_rejects_an_empty_secret(string? secret)
    {
        Assert.ThrowsAny<ArgumentException>(() => new PolarWebhookVerifier([LegacySecret, secret!], Tolerance));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_rejects_a_tolerance_that_is_not_positive(int seconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolarWebhookVerifier([LegacySecret], TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Result_reports_validity()
    {
        Assert.True(new PolarWebhookVerificationResult(PolarWebhookVerificationStatus.Valid).IsValid);
        Assert.All(
            Enum.GetValues<PolarWebhookVerificationStatus>().Where(s => s != PolarWebhookVerificationStatus.Valid),
            s => Assert.False(new PolarWebhookVerificationResult(s).IsValid));
    }

    private static PolarWebhookVerifier Verifier(string secret) =>
        new([secret], Tolerance, new FakeTimeProvider(TestDelivery.Now));

    private static PolarWebhookVerificationStatus Verify(PolarWebhookVerifier verifier, TestDelivery delivery) =>
        verifier.Verify(delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body).Status;
}
