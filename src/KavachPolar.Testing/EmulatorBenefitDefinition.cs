namespace KavachPolar.Testing;

/// <summary>
/// A benefit the emulated organization offers, attached to products with <see cref="EmulatorProductDefinition.BenefitIds"/>.
/// Granting behaves as Polar's strategy for the type does: <c>custom</c> and <c>feature_flag</c> always succeed with empty
/// properties; <c>license_keys</c> generates a key (<c>PREFIX-UUID</c>, shown masked as <c>display_key</c>);
/// <c>downloadables</c> grants its files; <c>discord</c> and <c>github_repository</c> fail with
/// <c>BenefitActionRequiredError</c> until the customer links an account (<see cref="PolarEmulator.LinkBenefitAccountAsync"/>);
/// <c>meter_credit</c> credits <see cref="Units"/> to the meter <see cref="MeterId"/> on grant, resets the meter and credits
/// again on each renewal (carrying the unused credits over when <see cref="Rollover"/>), and debits them on revoke, with
/// Polar's system events <c>meter.credited</c> and <c>meter.reset</c>.
/// </summary>
public sealed class EmulatorBenefitDefinition
{
    /// <summary>The benefit types the emulator grants.</summary>
    public static readonly IReadOnlyList<string> SupportedTypes = ["custom", "feature_flag", "license_keys", "downloadables", "discord", "github_repository", "meter_credit"];

    /// <summary>Creates a benefit definition.</summary>
    /// <param name="type">Polar's <c>BenefitType</c>, one of <see cref="SupportedTypes"/>.</param>
    /// <param name="description">3 to 42 characters, as Polar requires.</param>
    /// <exception cref="ArgumentException">An unsupported type or a description Polar would refuse.</exception>
    public EmulatorBenefitDefinition(string type, string description)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(description);
        if (!SupportedTypes.Contains(type))
        {
            throw new ArgumentException($"The emulator does not grant benefits of type '{type}'; it grants {string.Join(", ", SupportedTypes)}.", nameof(type));
        }

        if (description.Length is < 3 or > 42)
        {
            throw new ArgumentException("A benefit description has 3 to 42 characters.", nameof(description));
        }

        Type = type;
        Description = description;
    }

    /// <summary>A fixed benefit id (a UUID version 4); a random one when <see langword="null"/>.</summary>
    public string? Id { get; set; }

    /// <summary>Polar's benefit type.</summary>
    public string Type { get; }

    /// <summary>The description shown on products.</summary>
    public string Description { get; }

    /// <summary>
    /// <c>public</c> or <c>private</c>; <see langword="null"/> means Polar's default (<c>private</c> for
    /// <c>feature_flag</c>, else <c>public</c>). Only custom, license key and feature flag benefits may be private.
    /// </summary>
    public string? Visibility { get; set; }

    /// <summary>For <c>license_keys</c>: the prefix of generated keys (upper-cased), or none.</summary>
    public string? LicenseKeyPrefix { get; set; }

    /// <summary>For <c>custom</c>: the private note shown to customers who hold the benefit.</summary>
    public string? Note { get; set; }

    /// <summary>For <c>meter_credit</c>: the meter credited (one of the emulator's meters).</summary>
    public string? MeterId { get; set; }

    /// <summary>For <c>meter_credit</c>: the units credited on grant and on each renewal (more than 0).</summary>
    public int Units { get; set; }

    /// <summary>For <c>meter_credit</c>: whether unused credits carry over into the next period.</summary>
    public bool Rollover { get; set; }

    /// <summary>The benefit's metadata.</summary>
    public IDictionary<string, string> Metadata { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
