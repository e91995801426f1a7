using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

internal sealed class SubscriptionRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; set; }
    public required long Amount { get; set; }
    public required string Currency { get; init; }
    public required string RecurringInterval { get; set; }
    public required int RecurringIntervalCount { get; set; }
    public required string Status { get; set; }
    public required DateTimeOffset CurrentPeriodStart { get; set; }
    public required DateTimeOffset CurrentPeriodEnd { get; set; }
    public DateTimeOffset? TrialStart { get; set; }
    public DateTimeOffset? TrialEnd { get; set; }
    public bool CancelAtPeriodEnd { get; set; }
    public DateTimeOffset? CanceledAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? EndsAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public DateTimeOffset? PastDueAt { get; set; }
    public bool PauseAtPeriodEnd { get; set; }
    public DateTimeOffset? PausedAt { get; set; }
    public DateTimeOffset? ResumesAt { get; set; }
    public required string CustomerId { get; init; }
    public required string ProductId { get; set; }
    public string? CheckoutId { get; init; }
    public string? CancellationReason { get; set; }
    public string? CancellationComment { get; set; }
    public JsonObject Metadata { get; set; } = [];

    /// <summary>A product change with <c>proration_behavior: next_period</c>, applied when the period renews.</summary>
    public PendingUpdateRecord? PendingUpdate { get; set; }

    /// <summary>Whether charges for this subscription are declined (renewals and dunning retries).</summary>
    public bool PaymentDeclines { get; set; }

    /// <summary>The pending cycle order whose payment is being retried while the subscription is past due.</summary>
    public string? DunningOrderId { get; set; }

    /// <summary>Failed payments of <see cref="DunningOrderId"/>, the initial renewal charge included.</summary>
    public int FailedPayments { get; set; }

    /// <summary>Entitled: Polar's "active" flag.</summary>
    public bool IsActive => Status is "active" or "trialing";

    /// <summary>Polar's "revoked" flag.</summary>
    public bool IsRevoked => Status is "canceled" or "unpaid";

    /// <summary>Polar's "billable" flag.</summary>
    public bool IsBillable => IsActive || Status == "past_due";
}

/// <summary>Polar's <c>PendingSubscriptionUpdate</c>: what changes at <see cref="AppliesAt"/>.</summary>
internal sealed record PendingUpdateRecord(string Id, DateTimeOffset CreatedAt, DateTimeOffset AppliesAt, string ProductId);
