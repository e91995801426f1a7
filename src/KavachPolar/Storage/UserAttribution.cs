using Microsoft.EntityFrameworkCore;

namespace KavachPolar.Storage;

/// <summary>
/// The lookups that decide which user a Polar object (a subscription, an order, a benefit grant) names, written once for
/// the synchronizers that apply them inside the billing store's transaction: a usable user id, the user of a stored
/// subscription, the customer's <c>external_id</c> else the user bound to the customer, the forgotten-user check, and
/// the row of a user first seen in a webhook. Each synchronizer keeps its own order of these steps (design.md).
/// </summary>
internal static class UserAttribution
{
    /// <summary>
    /// <paramref name="id"/> when it can be a user id (present and no longer than the column); otherwise null, and the
    /// caller attributes by the next rule.
    /// </summary>
    public static string? Usable(string? id) => !string.IsNullOrEmpty(id) && id.Length <= Limits.UserId ? id : null;

    /// <summary>The user of the stored subscription <paramref name="subscriptionId"/>; null when it is not stored or names nobody.</summary>
    public static Task<string?> SubscriptionOwnerAsync(DbContext db, string subscriptionId, CancellationToken ct) =>
        CompiledQueries.For(db).SubscriptionOwner(db, subscriptionId, ct);

    /// <summary>The user bound to the Polar customer <paramref name="customerId"/>, if any.</summary>
    public static Task<string?> BoundUserAsync(DbContext db, string customerId, CancellationToken ct) =>
        CompiledQueries.For(db).BoundUser(db, customerId, ct);

    /// <summary>
    /// The customer's rules: its <c>external_id</c> when usable (<c>Named</c>: a user the object names, who gets a row
    /// if they have none), else the user bound to the customer (null when none is).
    /// </summary>
    public static async Task<(string? UserId, bool Named)> ByCustomerAsync(DbContext db, string? externalId, string customerId, CancellationToken ct)
    {
        if (Usable(externalId) is { } external)
        {
            return (external, true);
        }

        return (await BoundUserAsync(db, customerId, ct).ConfigureAwait(false), false);
    }

    /// <summary>
    /// Whether <paramref name="userId"/> (when known) or the customer <paramref name="customerId"/> was forgotten: then
    /// the object is recorded and acknowledged, never applied.
    /// </summary>
    public static Task<bool> IsForgottenAsync(DbContext db, string? userId, string customerId, CancellationToken ct) =>
        userId is null
            ? CompiledQueries.For(db).ForgottenCustomer(db, customerId, ct)
            : CompiledQueries.For(db).ForgottenUserOrCustomer(db, userId, customerId, ct);

    /// <summary>
    /// Adds the row of a user first seen in a webhook (the checkout was created elsewhere, or the row was deleted), from
    /// the Polar customer's email and name, so that what the webhook brought is there when they sign in.
    /// </summary>
    public static KavachUser NewUser(DbContext db, string userId, string? email, string? name, DateTimeOffset now)
    {
        var user = new KavachUser
        {
            Id = userId,
            Email = TextSafety.ForTextColumn(email, Limits.Email),
            Name = TextSafety.ForTextColumn(name, Limits.Name),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(user);
        return user;
    }

    /// <summary><see cref="NewUser"/> unless <paramref name="userId"/> has a row already.</summary>
    public static async Task EnsureUserAsync(DbContext db, string userId, string? email, string? name, DateTimeOffset now, CancellationToken ct)
    {
        if (!await CompiledQueries.For(db).UserExists(db, userId, ct).ConfigureAwait(false))
        {
            NewUser(db, userId, email, name, now);
        }
    }
}
