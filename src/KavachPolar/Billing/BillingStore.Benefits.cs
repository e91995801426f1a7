using KavachPolar.Polar;
using KavachPolar.Storage;
using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Billing;

/// <summary>The billing store's benefit writes: grants from webhooks and from Polar's list endpoint.</summary>
internal sealed partial class BillingStore
{
    /// <summary>
    /// Applies a <c>benefit_grant.*</c> delivery and records it, waited for at most <paramref name="budget"/>, in one
    /// transaction on the EF Core path (grants are rare next to subscription events): the customer's lock, the
    /// <c>webhook-id</c> check, the grant behind its version guard. Answers <see cref="WebhookOutcomes.Applied"/>,
    /// <see cref="WebhookOutcomes.Stale"/>, <see cref="WebhookOutcomes.Forgotten"/> or <see cref="WebhookOutcomes.Duplicate"/>.
    /// </summary>
    public Task<string> ApplyGrantDeliveryAsync(string webhookId, string type, PolarBenefitGrant grant, long timestampUs, TimeSpan budget, CancellationToken ct) =>
        store.RunHotAsync(budget, (scope, t) => ApplyGrantDeliveryAsync(scope, webhookId, type, grant, timestampUs, t), ct);

    private Task<string> ApplyGrantDeliveryAsync(KavachDbScope scope, string webhookId, string type, PolarBenefitGrant grant, long timestampUs, CancellationToken ct)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        if (grant.Customer?.ExternalId is { Length: > 0 and <= Limits.UserId } external)
        {
            touched.Add(external);
        }

        return ApplyCustomerDeliveryAsync(
            scope,
            webhookId,
            type,
            grant.CustomerId,
            touched,
            async (db, t) =>
            {
                var r = await grants.ApplyAsync(db, grant, timestampUs, webhookId, RecordedType(type), t, touched).ConfigureAwait(false);
                return (r.Applied, r.Forgotten, r.Changes, r.Users);
            },
            ct);
    }

    /// <summary>
    /// One delivery of an event that changes a customer's rows on the EF Core path (a grant, an order), recorded in the
    /// same transaction: the customer's lock, the <c>webhook-id</c> check, <paramref name="apply"/> (behind its own
    /// version guard), the record of the outcome; then the announcement to caches, also for a duplicate or stale
    /// delivery, which may be the retry of one whose commit went through unannounced. <paramref name="touched"/> holds the
    /// users the event names and collects those the write may change.
    /// </summary>
    private async Task<string> ApplyCustomerDeliveryAsync(
        KavachDbScope scope,
        string webhookId,
        string type,
        string customerId,
        HashSet<string> touched,
        Func<DbContext, CancellationToken, Task<(bool Applied, bool Forgotten, int Changes, string[]? Users)>> apply,
        CancellationToken ct)
    {
        try
        {
            await kinds.ReadyAsync(ct).ConfigureAwait(false);
            await scope.OpenAsync(ct).ConfigureAwait(false);
            var db = scope.Db;
            var (outcome, changes, users) = await UncertainAsync(
                touched,
                () => StoreTransactions.RunAsync(
                    db,
                    async token =>
                    {
                        await StoreTransactions.LockAsync(db, LockKeys.Customer(customerId), token).ConfigureAwait(false);
                        var recorded = await db.Set<WebhookEventRecord>().FirstOrDefaultAsync(e => e.Id == webhookId, token).ConfigureAwait(false);
                        if (recorded is not null && recorded.Outcome != WebhookOutcomes.Unprocessable)
                        {
                            return (WebhookOutcomes.Duplicate, 0, (string[]?)null);
                        }

                        var result = await apply(db, token).ConfigureAwait(false);
                        var o = result.Forgotten ? WebhookOutcomes.Forgotten : result.Applied ? WebhookOutcomes.Applied : WebhookOutcomes.Stale;
                        Record(db, recorded, webhookId, type, o, null, null);
                        await db.SaveChangesAsync(token).ConfigureAwait(false);
                        return (o, result.Changes, result.Users);
                    },
                    ct)).ConfigureAwait(false);

            await AfterCommitAsync(users ?? (IReadOnlyCollection<string>)touched, changes).ConfigureAwait(false);
            return outcome;
        }
        catch (Exception e) when (StoreTransactions.IsUniqueViolation(e))
        {
            await scope.OpenAsync(ct).ConfigureAwait(false);
            if (await IsRecordedAsync(scope.Db, webhookId, ct).ConfigureAwait(false))
            {
                return WebhookOutcomes.Duplicate;
            }

            throw;
        }
    }
}
