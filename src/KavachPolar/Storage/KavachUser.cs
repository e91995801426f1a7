namespace KavachPolar.Storage;

/// <summary>
/// One application user as stored in <c>kavach_users</c>. The <c>polar_*</c> subscription columns
/// always show the user's current live subscription; query them with any SQL client.
/// </summary>
public sealed class KavachUser
{
    /// <summary>The application's user id (column <c>id</c>, primary key).</summary>
    public required string Id { get; set; }

    /// <summary>The user's email, from the sign-in claims or the Polar customer (column <c>email</c>).</summary>
    public string? Email { get; set; }

    /// <summary>The user's display name (column <c>name</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The Polar customer bound to this user (column <c>polar_customer_id</c>, unique).</summary>
    public string? PolarCustomerId { get; set; }

    /// <summary>The current live subscription's id, or <see langword="null"/> when none is live (column <c>polar_subscription_id</c>).</summary>
    public string? PolarSubscriptionId { get; set; }

    /// <summary>
    /// The current subscription's Polar status; when none is live, the status the last one ended
    /// with (e.g. <c>canceled</c>). Column <c>polar_subscription_status</c>.
    /// </summary>
    public string? PolarSubscriptionStatus { get; set; }

    /// <summary>The current subscription's product id (column <c>polar_product_id</c>).</summary>
    public string? PolarProductId { get; set; }

    /// <summary>End of the current billing period, UTC (column <c>polar_current_period_end</c>).</summary>
    public DateTimeOffset? PolarCurrentPeriodEnd { get; set; }

    /// <summary>Whether the current subscription ends at the period end (column <c>polar_cancel_at_period_end</c>).</summary>
    public bool PolarCancelAtPeriodEnd { get; set; }

    /// <summary>
    /// The product of the plan change Polar will apply at the end of the current subscription's period, or
    /// <see langword="null"/> when none is scheduled (column <c>polar_scheduled_product_id</c>).
    /// </summary>
    public string? PolarScheduledProductId { get; set; }

    /// <summary>When that scheduled plan change applies, UTC (column <c>polar_scheduled_change_at</c>).</summary>
    public DateTimeOffset? PolarScheduledChangeAt { get; set; }

    /// <summary>When the row was created (column <c>created_at</c>).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the row last changed (column <c>updated_at</c>).</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}
