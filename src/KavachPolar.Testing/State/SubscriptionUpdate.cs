using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>One validated <c>PATCH /v1/subscriptions/{id}</c> variant.</summary>
/// <param name="Variant">The pydantic model the body matched, e.g. <c>SubscriptionCancel</c>.</param>
internal sealed record SubscriptionUpdate(string Variant)
{
    /// <summary>For <c>SubscriptionCancel</c>: the requested <c>cancel_at_period_end</c>.</summary>
    public bool CancelAtPeriodEnd { get; init; }

    /// <summary>For <c>SubscriptionPause</c>: the requested <c>pause_at_period_end</c>.</summary>
    public bool PauseAtPeriodEnd { get; init; }

    /// <summary>For <c>SubscriptionPause</c>: when a paused subscription resumes by itself.</summary>
    public DateTimeOffset? ResumesAt { get; init; }

    public string? Reason { get; init; }

    public string? Comment { get; init; }

    public string? ProductId { get; init; }

    /// <summary>For a product change: <c>invoice</c> (the default), <c>prorate</c>, <c>next_period</c> or <c>reset</c>.</summary>
    public string? ProrationBehavior { get; init; }

    public JsonObject? Metadata { get; init; }
}
