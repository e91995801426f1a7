using KavachPolar.Billing;
using KavachPolar.Storage;

namespace KavachPolar.Services;

/// <summary><see cref="IKavachPolarUsage"/>: validation here, the write through the billing store, reads through <see cref="MeterReader"/>.</summary>
internal sealed class KavachPolarUsage(IKavachDbContextAccessor context, BillingStore billing, MeterReader meters, TimeProvider time) : IKavachPolarUsage
{
    public async Task<string> RecordAsync(
        string userId,
        string eventName,
        IReadOnlyDictionary<string, object>? metadata = null,
        string? externalId = null,
        DateTimeOffset? timestamp = null,
        CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var json = UsageEvents.Validate(userId, eventName, metadata, externalId, timestamp, now);
        var row = new UsageEventRecord
        {
            UserId = userId,
            Name = eventName,
            ExternalId = externalId ?? "kavach_" + Guid.NewGuid().ToString("N"),
            Metadata = json,
            TimestampUs = UnixTime.Microseconds(timestamp ?? now),
            RecordedAt = now,
        };
        await billing.RecordUsageAsync(context.Context, row, cancellationToken).ConfigureAwait(false);
        return row.ExternalId;
    }

    public Task<KavachMeter?> GetMeterAsync(string userId, string meter, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        var meterId = meters.ResolveMeterId(meter);
        return meters.ReadAsync(userId, meterId, cancellationToken);
    }

    public Task<int> ReplayQuarantinedAsync(CancellationToken cancellationToken = default) =>
        billing.ReplayQuarantinedUsageAsync(cancellationToken);
}
