using System.Text;
using KavachPolar.Testing.Webhooks;
using KavachPolar.Webhooks;

namespace KavachPolar.Tests.Webhooks;

/// <summary>After warm-up, verifying bodies up to 16 KiB allocates nothing on the heap (a count, not a timing).</summary>
public sealed class PolarWebhookVerifierAllocationTests
{
    private const string StandardSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    [Theory]
    [InlineData(2 * 1024, PolarWebhookSigningMode.Legacy)]
    [InlineData(16 * 1024, PolarWebhookSigningMode.Legacy)]
    [InlineData(2 * 1024, PolarWebhookSigningMode.Standard)]
    [InlineData(16 * 1024, PolarWebhookSigningMode.Standard)]
    public void Verifying_a_valid_delivery_allocates_nothing_after_warm_up(int bodyLength, PolarWebhookSigningMode mode)
    {
        var verifier = new PolarWebhookVerifier([StandardSecret], TimeSpan.FromMinutes(5));
        var body = Encoding.UTF8.GetBytes(new string('x', bodyLength));
        var delivery = TestDelivery.Signed(StandardSecret, mode, body, DateTimeOffset.UtcNow);

        var allocated = AllocatedBytes(() => verifier.Verify(delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body).IsValid);

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Rejecting_a_delivery_allocates_nothing_after_warm_up()
    {
        var verifier = new PolarWebhookVerifier([StandardSecret], TimeSpan.FromMinutes(5));
        var body = new byte[2 * 1024];
        var delivery = TestDelivery.Signed("whsec_other", PolarWebhookSigningMode.Legacy, body, DateTimeOffset.UtcNow);

        var allocated = AllocatedBytes(() => !verifier.Verify(delivery.Id, delivery.Timestamp, delivery.Signature, delivery.Body).IsValid);

        Assert.Equal(0, allocated);
    }

    private static long AllocatedBytes(Func<bool> verify)
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.True(verify());
        }

        var ok = true;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            ok &= verify();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(ok);
        return allocated;
    }
}
