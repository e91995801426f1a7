namespace KavachPolar;

/// <summary>
/// Usage-based billing: record what a user consumed, durably and in the app's own transaction, and read the user's
/// meter at Polar with what this app recorded that Polar has not counted yet. Registered (scoped) by
/// <c>AddKavachPolar</c>.
/// </summary>
/// <remarks>
/// A recorded event waits in <c>kavach_polar_usage_events</c> until the background sender (every instance runs one)
/// delivers it to Polar's <c>POST /v1/events/ingest</c> by <c>external_customer_id</c> = the user id, with its
/// <c>external_id</c>. Polar keeps each <c>external_id</c> once, forever, so a resend after a crash or a lost answer
/// is counted once.
/// </remarks>
public interface IKavachPolarUsage
{
    /// <summary>
    /// Records one usage event of <paramref name="userId"/>. Checks first, synchronously, what Polar would refuse, and
    /// throws <see cref="ArgumentException"/> writing nothing: an empty user id or name, a name over 128 characters,
    /// metadata keys <c>_llm</c> or <c>_cost</c> (Polar's structured keys), metadata values other than a string of 1–500
    /// characters, an integer, a finite floating-point number or a bool, text holding U+0000, a timestamp in the future,
    /// an event over Polar's 10 MiB body limit. Then writes one row and returns: durable at return, or, when the host
    /// has a transaction open on the DbContext that holds KavachPolar's tables (<c>Database.CurrentTransaction</c>), at
    /// the host's commit, since the row joins that transaction (a rollback discards it).
    /// </summary>
    /// <param name="userId">The app's user id, sent as Polar's <c>external_customer_id</c>. Events of a user with no Polar
    /// customer yet are sent all the same: Polar counts them once a customer with that external id exists.</param>
    /// <param name="eventName">The event's name, which Polar's meters filter on (at most 128 characters).</param>
    /// <param name="metadata">The event's metadata (what a meter sums, say <c>tokens</c>).</param>
    /// <param name="externalId">The event's idempotency key at Polar (at most 256 characters): recording the same key
    /// again (a retried request, say) writes nothing and returns it, and Polar counts it once. Without it one is
    /// generated and stored with the row.</param>
    /// <param name="timestamp">When it happened; default now. Polar bills by ingestion time; this only places it on
    /// charts.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The event's <c>external_id</c>.</returns>
    Task<string> RecordAsync(
        string userId,
        string eventName,
        IReadOnlyDictionary<string, object>? metadata = null,
        string? externalId = null,
        DateTimeOffset? timestamp = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The user's meter at Polar (<c>GET /v1/customer-meters/</c>, cached for a few seconds per instance), with what this
    /// app recorded that Polar has not counted yet. <paramref name="meter"/> is a Polar meter id or a
    /// <see cref="KavachPolarOptions.Meters"/> slug (anything else: <see cref="ArgumentException"/>). Polar having no row
    /// yet for a known customer reads as zero; <see langword="null"/> only when the user has no Polar customer.
    /// </summary>
    /// <exception cref="ArgumentException">The meter is neither an id nor a slug, or the user id is empty.</exception>
    /// <exception cref="KavachPolarException">Polar could not be asked or refused the read: <see cref="KavachPolarException.ErrorCode"/> says why.</exception>
    Task<KavachMeter?> GetMeterAsync(string userId, string meter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Puts every quarantined event (refused by Polar's validation, kept with Polar's error) back in the queue, to be
    /// sent again, e.g. after fixing the meter or upgrading KavachPolar. Returns how many.
    /// </summary>
    Task<int> ReplayQuarantinedAsync(CancellationToken cancellationToken = default);
}
