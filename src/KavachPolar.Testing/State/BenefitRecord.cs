using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>A benefit of the organization: Polar's <c>Benefit</c> row with its merchant configuration.</summary>
internal sealed class BenefitRecord
{
    public required string Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string Type { get; init; }
    public required string Description { get; init; }
    public required string Visibility { get; init; }
    public JsonObject Metadata { get; init; } = [];

    /// <summary>The merchant configuration (<c>benefit.properties</c>) as Polar serializes it.</summary>
    public required JsonObject Properties { get; init; }

    /// <summary>Polar's <c>VISIBILITY_CONFIGURABLE_BENEFIT_TYPES</c>.</summary>
    public bool VisibilityConfigurable => Type is "custom" or "license_keys" or "meter_credit" or "feature_flag";

    /// <summary>
    /// Whether granting needs the customer to link an outside account first (Discord, GitHub): the strategy raises
    /// <c>BenefitActionRequiredError</c> until the grant's properties carry an <c>account_id</c>.
    /// </summary>
    public bool NeedsLinkedAccount => Type is "discord" or "github_repository";

    /// <summary>License keys are revoked grant by grant (<c>should_revoke_individually</c>).</summary>
    public bool RevokedIndividually => Type == "license_keys";
}
