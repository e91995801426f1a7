using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace KavachPolar.Storage;

/// <summary>
/// The general path's fixed queries (a webhook delivery without the SQL function: EF Core on PostgreSQL without it,
/// SQLite), compiled once with <see cref="EF.CompileAsyncQuery{TContext, TParam1, TResult}(System.Linq.Expressions.Expression{Func{TContext, TParam1, CancellationToken, TResult}})"/>
/// instead of run as LINQ, which EF Core funcletizes and looks up in its query cache on every call (issue 26: about a
/// tenth of a delivery's CPU). Each query is a plain function of its arguments and runs inside the caller's
/// transaction, as the LINQ it replaces did: same SQL, same tracking (explicit here, so a host's default does not
/// matter), same locks around it.
/// </summary>
/// <remarks>
/// A compiled query belongs to the model it was first run with: EF Core throws when it is run on a DbContext of another
/// model (<c>CompiledQueryBase.ExecuteCore</c>). The model differs by DbContext type and provider (KavachPolar's own
/// context, a host's context from <c>AddEntityFrameworkStore&lt;TContext&gt;()</c>, PostgreSQL or SQLite), so there is
/// one set of queries a model, kept as long as the model lives.
/// </remarks>
internal sealed class CompiledQueries
{
    private static readonly ConditionalWeakTable<IModel, CompiledQueries> ByModel = [];

    /// <summary>The queries for <paramref name="db"/>'s model.</summary>
    public static CompiledQueries For(DbContext db) => ByModel.GetValue(db.Model, static _ => new CompiledQueries());

    /// <summary>The delivery's record by <c>webhook-id</c>, tracked (a redelivery of an unprocessable one updates it).</summary>
    public Func<DbContext, string, CancellationToken, Task<WebhookEventRecord?>> Delivery { get; } =
        EF.CompileAsyncQuery((DbContext db, string id, CancellationToken ct) =>
            db.Set<WebhookEventRecord>().AsTracking().FirstOrDefault(e => e.Id == id));

    /// <summary>The stored subscription by id, tracked.</summary>
    public Func<DbContext, string, CancellationToken, Task<SubscriptionRecord?>> Subscription { get; } =
        EF.CompileAsyncQuery((DbContext db, string id, CancellationToken ct) =>
            db.Set<SubscriptionRecord>().AsTracking().FirstOrDefault(r => r.Id == id));

    /// <summary>
    /// The stored subscription by id, tracked, with the outcome recorded for the delivery's <c>webhook-id</c> beside it
    /// (a scalar subquery: SQLite has no APPLY), in one statement (one snapshot); null when the subscription is not
    /// stored (then <see cref="Delivery"/> asks for the record).
    /// </summary>
    public Func<DbContext, string, string, CancellationToken, Task<SubscriptionAndDelivery?>> SubscriptionWithDelivery { get; } =
        EF.CompileAsyncQuery((DbContext db, string subscriptionId, string webhookId, CancellationToken ct) =>
            db.Set<SubscriptionRecord>().AsTracking()
                .Where(r => r.Id == subscriptionId)
                .Select(r => new SubscriptionAndDelivery
                {
                    Subscription = r,
                    DeliveryOutcome = db.Set<WebhookEventRecord>().Where(e => e.Id == webhookId).Select(e => e.Outcome).FirstOrDefault(),
                })
                .FirstOrDefault());

    /// <summary>
    /// The user's row, with what <see cref="SubscriptionsOf"/> reads beside it, both tracked, in one statement (one
    /// snapshot): a row per subscription, or one with none; no row when the user has none. A left join on a condition
    /// that is always true (SQLite has no APPLY).
    /// </summary>
    public Func<DbContext, string, string?, IAsyncEnumerable<UserAndSubscription>> UserWithSubscriptions { get; } =
        EF.CompileAsyncQuery((DbContext db, string userId, string? orphansOf) =>
            from u in db.Set<KavachUser>().AsTracking().Where(u => u.Id == userId)
            from r in db.Set<SubscriptionRecord>()
                .Where(r => r.UserId == userId || (orphansOf != null && r.CustomerId == orphansOf && r.UserId == null))
                .DefaultIfEmpty()
            select new UserAndSubscription { User = u, Subscription = r });

    /// <summary>The user's row by id, tracked.</summary>
    public Func<DbContext, string, CancellationToken, Task<KavachUser?>> User { get; } =
        EF.CompileAsyncQuery((DbContext db, string id, CancellationToken ct) =>
            db.Set<KavachUser>().AsTracking().FirstOrDefault(u => u.Id == id));

    /// <summary>Whether a user row with this id exists.</summary>
    public Func<DbContext, string, CancellationToken, Task<bool>> UserExists { get; } =
        EF.CompileAsyncQuery((DbContext db, string id, CancellationToken ct) =>
            db.Set<KavachUser>().Any(u => u.Id == id));

    /// <summary>The user bound to a Polar customer, if any.</summary>
    public Func<DbContext, string, CancellationToken, Task<string?>> BoundUser { get; } =
        EF.CompileAsyncQuery((DbContext db, string customerId, CancellationToken ct) =>
            db.Set<KavachUser>().Where(u => u.PolarCustomerId == customerId).Select(u => (string?)u.Id).FirstOrDefault());

    /// <summary>Whether another user than the given one holds the customer.</summary>
    public Func<DbContext, string, string, CancellationToken, Task<bool>> CustomerTakenByOther { get; } =
        EF.CompileAsyncQuery((DbContext db, string customerId, string userId, CancellationToken ct) =>
            db.Set<KavachUser>().Any(u => u.PolarCustomerId == customerId && u.Id != userId));

    /// <summary>The user of a stored subscription; null when it is not stored or names nobody.</summary>
    public Func<DbContext, string, CancellationToken, Task<string?>> SubscriptionOwner { get; } =
        EF.CompileAsyncQuery((DbContext db, string subscriptionId, CancellationToken ct) =>
            db.Set<SubscriptionRecord>().Where(s => s.Id == subscriptionId).Select(s => s.UserId).FirstOrDefault());

    /// <summary>Whether the customer was a forgotten user's.</summary>
    public Func<DbContext, string, CancellationToken, Task<bool>> ForgottenCustomer { get; } =
        EF.CompileAsyncQuery((DbContext db, string customerId, CancellationToken ct) =>
            db.Set<ForgottenUserRecord>().Any(f => f.PolarCustomerId == customerId));

    /// <summary>Whether the user, or the customer, was forgotten.</summary>
    public Func<DbContext, string, string, CancellationToken, Task<bool>> ForgottenUserOrCustomer { get; } =
        EF.CompileAsyncQuery((DbContext db, string userId, string customerId, CancellationToken ct) =>
            db.Set<ForgottenUserRecord>().Any(f => f.UserId == userId || f.PolarCustomerId == customerId));

    /// <summary>
    /// The user's subscriptions and, when a customer is given, that customer's subscriptions that name no user (the
    /// orphans its binding links), in one query, tracked.
    /// </summary>
    public Func<DbContext, string, string?, IAsyncEnumerable<SubscriptionRecord>> SubscriptionsOf { get; } =
        EF.CompileAsyncQuery((DbContext db, string userId, string? orphansOf) =>
            db.Set<SubscriptionRecord>().AsTracking()
                .Where(r => r.UserId == userId || (orphansOf != null && r.CustomerId == orphansOf && r.UserId == null)));

    /// <summary>The grants of these subscriptions that another user, or no user, holds; tracked.</summary>
    public Func<DbContext, string, string[], IAsyncEnumerable<BenefitGrantRecord>> GrantsOfSubscriptionsNotHeldBy { get; } =
        EF.CompileAsyncQuery((DbContext db, string userId, string[] subscriptionIds) =>
            db.Set<BenefitGrantRecord>().AsTracking()
                .Where(g => g.SubscriptionId != null && subscriptionIds.Contains(g.SubscriptionId) && (g.UserId == null || g.UserId != userId)));

    /// <summary>The grants of these orders that another user, or no user, holds; tracked.</summary>
    public Func<DbContext, string, string[], IAsyncEnumerable<BenefitGrantRecord>> GrantsOfOrdersNotHeldBy { get; } =
        EF.CompileAsyncQuery((DbContext db, string userId, string[] orderIds) =>
            db.Set<BenefitGrantRecord>().AsTracking()
                .Where(g => g.OrderId != null && orderIds.Contains(g.OrderId) && (g.UserId == null || g.UserId != userId)));

    /// <summary>
    /// The orders no user holds of these subscriptions and, when a customer is given, that customer's one-time orders
    /// no user holds; tracked.
    /// </summary>
    public Func<DbContext, string[], string?, IAsyncEnumerable<OrderRecord>> OrphanOrders { get; } =
        EF.CompileAsyncQuery((DbContext db, string[] subscriptionIds, string? customerId) =>
            db.Set<OrderRecord>().AsTracking()
                .Where(o => o.UserId == null
                            && ((o.SubscriptionId != null && subscriptionIds.Contains(o.SubscriptionId))
                                || (customerId != null && o.CustomerId == customerId && o.SubscriptionId == null))));

    /// <summary>What <see cref="SubscriptionWithDelivery"/> reads.</summary>
    public sealed class SubscriptionAndDelivery
    {
        /// <summary>The stored subscription.</summary>
        public required SubscriptionRecord Subscription { get; init; }

        /// <summary>The outcome recorded for the delivery, when it was recorded.</summary>
        public string? DeliveryOutcome { get; init; }
    }

    /// <summary>A row of <see cref="UserWithSubscriptions"/>.</summary>
    public sealed class UserAndSubscription
    {
        /// <summary>The user's row.</summary>
        public required KavachUser User { get; init; }

        /// <summary>One of the user's subscriptions, or of the customer's orphans asked for; null when there are none.</summary>
        public SubscriptionRecord? Subscription { get; init; }
    }

    /// <summary>Collects a compiled query's rows.</summary>
    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> rows, CancellationToken ct)
    {
        var list = new List<T>();
        await foreach (var row in rows.WithCancellation(ct).ConfigureAwait(false))
        {
            list.Add(row);
        }

        return list;
    }
}
