using KavachPolar.Sample.Data;
using KavachPolar.Sample.Hosting;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Sample.Billing;

/// <summary>
/// The sample's <c>OnSubscriptionChange</c>: saves each change in <c>sample_subscription_changes</c> so the account
/// page can list them. KavachPolar may call it again for a change it already delivered (after a crash or an
/// exception), so it is idempotent on the user and <see cref="KavachSubscriptionChange.EventId"/>.
/// </summary>
internal sealed class SubscriptionChangeRecorder(IServiceScopeFactory scopes, TimeProvider time, ILogger<SubscriptionChangeRecorder> logger)
{
    public async Task RecordAsync(KavachSubscriptionChange change, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SampleDbContext>();
        if (await db.SubscriptionChanges.AnyAsync(c => c.UserId == change.UserId && c.EventId == change.EventId, cancellationToken))
        {
            return;
        }

        db.SubscriptionChanges.Add(new SubscriptionChangeEntry
        {
            UserId = change.UserId,
            EventId = change.EventId,
            EventType = change.EventType,
            PreviousStatus = change.Previous?.Status,
            CurrentStatus = change.Current?.Status,
            CurrentProductId = change.Current?.ProductId,
            CancelAtPeriodEnd = change.Current?.CancelAtPeriodEnd ?? false,
            PreviousProductId = change.Previous?.ProductId,
            PreviousCancelAtPeriodEnd = change.Previous?.CancelAtPeriodEnd ?? false,
            ScheduledProductId = change.Current?.ScheduledChange?.ProductId,
            PreviousScheduledProductId = change.Previous?.ScheduledChange?.ProductId,
            ReceivedAt = time.GetUtcNow(),
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            if (!await db.SubscriptionChanges.AnyAsync(c => c.UserId == change.UserId && c.EventId == change.EventId, cancellationToken))
            {
                throw;
            }

            // Another instance recorded the same change first.
            return;
        }

        SampleLog.SubscriptionChanged(logger, change.UserId, change.EventType, change.EventId, change.Previous?.Status ?? "none", change.Current?.Status ?? "none");
    }
}
