using System.Text.Json.Nodes;

namespace KavachPolar.Testing.State;

/// <summary>The demo benefits and the conversion of benefit definitions into Polar's benefit configuration.</summary>
internal static class BenefitCatalog
{
    public const string DownloadsId = "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01";
    public const string BetaFeaturesId = "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a02";
    public const string LicenseKeyId = "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03";
    public const string PrioritySupportId = "a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a04";
    public const string DiscordId = "a1b2c3d4-0005-4e5f-8a9b-0c1d2e3f4a05";
    public const string GitHubId = "a1b2c3d4-0006-4e5f-8a9b-0c1d2e3f4a06";
    public const string MeterCreditId = "a1b2c3d4-0007-4e5f-8a9b-0c1d2e3f4a07";

    /// <summary>The file of the demo "Downloads" benefit.</summary>
    private const string DemoFileId = "f1e2d3c4-0001-4b5a-9c8d-7e6f5a4b3c21";

    /// <summary>The demo benefits; with <paramref name="meterCredits"/> above 0, the meter credit "AI tokens included" too.</summary>
    public static EmulatorBenefitDefinition[] DemoBenefits(int meterCredits, string meterId) =>
        meterCredits > 0
            ? [.. DemoBenefits(), new EmulatorBenefitDefinition("meter_credit", "AI tokens included") { Id = MeterCreditId, MeterId = meterId, Units = meterCredits }]
            : DemoBenefits();

    public static EmulatorBenefitDefinition[] DemoBenefits() =>
    [
        new("downloadables", "Downloads") { Id = DownloadsId },
        new("feature_flag", "Beta features") { Id = BetaFeaturesId },
        new("license_keys", "License key") { Id = LicenseKeyId, LicenseKeyPrefix = "KAVACH" },
        new("custom", "Priority support") { Id = PrioritySupportId, Note = "Write to support@example.com; we answer within a day." },
        new("discord", "Discord community") { Id = DiscordId },
        new("github_repository", "Private repository access") { Id = GitHubId },
    ];

    public static BenefitRecord ToRecord(EmulatorBenefitDefinition d, DateTimeOffset createdAt)
    {
        var id = d.Id ?? Ids.NewUuid();
        if (!Ids.IsUuid4(id))
        {
            throw new ArgumentException($"Benefit id '{id}' is not a UUID version 4.");
        }

        var configurable = d.Type is "custom" or "license_keys" or "feature_flag";
        var visibility = d.Visibility ?? (d.Type == "feature_flag" ? "private" : "public");
        if (visibility is not ("public" or "private") || (visibility == "private" && !configurable))
        {
            throw new ArgumentException($"Benefit '{d.Description}': visibility '{visibility}' is not allowed for type {d.Type}.");
        }

        if (d.Type == "meter_credit" && (d.MeterId is null || !Ids.IsUuid4(d.MeterId) || d.Units <= 0))
        {
            throw new ArgumentException($"Benefit '{d.Description}': a meter_credit benefit needs a MeterId (a UUID version 4) and Units greater than 0.");
        }

        var metadata = new JsonObject();
        foreach (var (k, v) in d.Metadata)
        {
            metadata[k] = v;
        }

        var properties = d.Type switch
        {
            "custom" => new JsonObject { ["note"] = d.Note },
            "license_keys" => new JsonObject { ["prefix"] = d.LicenseKeyPrefix, ["expires"] = null, ["activations"] = null, ["limit_usage"] = null },
            "downloadables" => new JsonObject { ["archived"] = new JsonObject(), ["files"] = new JsonArray(id == DownloadsId ? DemoFileId : Ids.NewUuid()) },
            "discord" => new JsonObject
            {
                ["guild_id"] = "1300000000000000001",
                ["role_id"] = "1300000000000000002",
                ["kick_member"] = false,
                ["guild_token"] = "emulator." + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("{\"guild_id\":\"1300000000000000001\"}")),
            },
            "meter_credit" => new JsonObject { ["units"] = d.Units, ["rollover"] = d.Rollover, ["meter_id"] = d.MeterId!.ToLowerInvariant() },
            "github_repository" => new JsonObject { ["repository_owner"] = "kavachpolar", ["repository_name"] = "private-examples", ["permission"] = "pull" },
            _ => new JsonObject(),
        };
        return new BenefitRecord
        {
            Id = id,
            CreatedAt = createdAt,
            Type = d.Type,
            Description = d.Description,
            Visibility = visibility,
            Metadata = metadata,
            Properties = properties,
        };
    }
}
