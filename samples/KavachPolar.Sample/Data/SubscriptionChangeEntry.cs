namespace KavachPolar.Sample.Data;

/// <summary>One <c>OnSubscriptionChange</c> call, as the account page lists it.</summary>
public sealed class SubscriptionChangeEntry
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    /// <summary>The <c>webhook-id</c> of the delivery, or <c>reconcile:...</c>.</summary>
    public required string EventId { get; set; }

    public required string EventType { get; set; }

    public string? PreviousStatus { get; set; }

    /// <summary><see langword="null"/> when the user has no live subscription any more.</summary>
    public string? CurrentStatus { get; set; }

    public string? CurrentProductId { get; set; }

    /// <summary>The product before the change; <see langword="null"/> when nothing was live.</summary>
    public string? PreviousProductId { get; set; }

    /// <summary>Whether a cancellation at period end was scheduled before the change.</summary>
    public bool PreviousCancelAtPeriodEnd { get; set; }

    public bool CancelAtPeriodEnd { get; set; }

    /// <summary>The product of a plan change scheduled for the next period after the change, if any.</summary>
    public string? ScheduledProductId { get; set; }

    /// <summary>The product of a plan change scheduled for the next period before the change, if any.</summary>
    public string? PreviousScheduledProductId { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}
