using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>
/// One row of Polar's <c>benefit_grants</c>: unique per (customer, benefit, member, subscription, order) and reused
/// across revoke and re-grant (<c>models/benefit_grant.py</c>).
/// </summary>
internal sealed class BenefitGrantRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Null after the INSERT; set on every later UPDATE and on cycle.</summary>
    public DateTimeOffset? ModifiedAt { get; set; }
    public DateTimeOffset? GrantedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public required string CustomerId { get; init; }
    public string? MemberId { get; init; }
    public required string BenefitId { get; init; }
    public string? SubscriptionId { get; init; }
    public string? OrderId { get; init; }

    /// <summary><c>{message, type, timestamp}</c> when the grant failed; cleared by a grant or a revoke.</summary>
    public JsonObject? Error { get; set; }

    public JsonObject Properties { get; set; } = [];

    /// <summary>The properties before the change being announced (webhooks only).</summary>
    public JsonObject? PreviousProperties { get; set; }

    public bool IsGranted => GrantedAt is not null;

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>The failure <c>enqueue_benefits_grants</c> never retries: a required customer action.</summary>
    public bool ActionRequired => Error?["type"]?.GetValue<string>() == "BenefitActionRequiredError";
}
