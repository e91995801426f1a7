namespace KavachPolar.Testing.Tests.Benefits;

/// <summary>The benefits an emulator is started with: Polar's rules on definitions, refused before anything starts.</summary>
public sealed class BenefitCatalogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void A_type_the_emulator_does_not_grant_is_refused()
    {
        // Every type of Polar's BenefitType is granted now that meter_credit is; an unknown one is still refused.
        var e = Assert.Throws<ArgumentException>(() => new EmulatorBenefitDefinition("ads", "Credits"));

        Assert.Contains("'ads'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("A description that is longer than forty-two")]
    public void A_description_outside_3_to_42_characters_is_refused(string description)
    {
        Assert.Throws<ArgumentException>(() => new EmulatorBenefitDefinition("custom", description));
    }

    [Fact]
    public async Task A_product_naming_an_unknown_benefit_is_refused_at_start()
    {
        var options = new PolarEmulatorOptions();
        options.Products.Add(new EmulatorProductDefinition("Pro", 1900) { BenefitIds = { Guid.NewGuid().ToString() } });

        await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(options, Ct));
    }

    [Fact]
    public async Task A_private_discord_benefit_is_refused_at_start()
    {
        var options = new PolarEmulatorOptions();
        options.Benefits.Add(new EmulatorBenefitDefinition("discord", "Community") { Visibility = "private" });

        await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(options, Ct));
    }

    [Fact]
    public async Task Own_products_get_own_benefits_and_a_shared_benefit_is_one_benefit()
    {
        var options = new PolarEmulatorOptions();
        var shared = Guid.NewGuid().ToString();
        options.Benefits.Add(new EmulatorBenefitDefinition("license_keys", "Licence") { Id = shared, LicenseKeyPrefix = "own" });
        options.Products.Add(new EmulatorProductDefinition("A", 100) { BenefitIds = { shared } });
        options.Products.Add(new EmulatorProductDefinition("B", 200) { BenefitIds = { shared } });
        options.Products.Add(new EmulatorProductDefinition("C", 300));

        await using var emulator = await PolarEmulator.StartAsync(options, Ct);

        var benefit = Assert.Single(emulator.Benefits);
        Assert.Equal(new EmulatorBenefit(shared, "license_keys", "Licence"), benefit);
        Assert.Equal([[shared], [shared], []], emulator.Products.Select(p => p.BenefitIds.ToArray()));
    }
}
