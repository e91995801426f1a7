namespace KavachPolar.Testing.Tests.Hosting;

public sealed class StartupTests
{
    [Fact]
    public async Task Defaults_give_a_loopback_base_url_a_polar_access_token_a_uuid4_organization_and_demo_products()
    {
        await using var emulator = await PolarEmulator.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("127.0.0.1", emulator.BaseUrl.Host);
        Assert.EndsWith("/", emulator.BaseUrl.AbsoluteUri, StringComparison.Ordinal);
        Assert.StartsWith("polar_oat_emulator_", emulator.AccessToken, StringComparison.Ordinal);
        Assert.Equal(4, Guid.Parse(emulator.OrganizationId).Version);
        Assert.Equal(["Pro", "Team", "Pro Yearly", "Pro Trial", "Pro Lifetime", "Template Pack"], emulator.Products.Select(p => p.Name));
        Assert.Equal([1900L, 4900L, 19000L, 1900L, 29900L, 2900L], emulator.Products.Select(p => p.PriceAmount));
        Assert.Equal(["month", "month", "year", "month", null, null], emulator.Products.Select(p => p.RecurringInterval));
        Assert.Equal([PolarEmulator.DemoLifetimeProductId, PolarEmulator.DemoAddOnProductId], emulator.Products.Where(p => !p.IsRecurring).Select(p => p.Id));
        Assert.All(emulator.Products, p => Assert.Equal("usd", p.Currency));
    }

    [Fact]
    public async Task Configured_products_replace_the_demo_catalog()
    {
        var options = new PolarEmulatorOptions { AccessToken = "polar_oat_custom", OrganizationId = "0b6e2f0e-3f5a-4c8d-9e1f-2a3b4c5d6e7f" };
        options.Products.Add(new EmulatorProductDefinition("Starter", 900) { Id = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", Currency = "eur" });

        await using var emulator = await PolarEmulator.StartAsync(options, TestContext.Current.CancellationToken);

        var product = Assert.Single(emulator.Products);
        Assert.Equal("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", product.Id);
        Assert.Equal("eur", product.Currency);
        Assert.Equal("polar_oat_custom", emulator.AccessToken);
        Assert.Equal("0b6e2f0e-3f5a-4c8d-9e1f-2a3b4c5d6e7f", emulator.OrganizationId);
    }

    [Fact]
    public async Task Starting_on_a_port_in_use_fails_and_leaves_the_first_emulator_working()
    {
        await using var first = await PolarEmulator.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        await Assert.ThrowsAnyAsync<IOException>(() => PolarEmulator.StartAsync(new PolarEmulatorOptions { Urls = first.BaseUrl.AbsoluteUri.TrimEnd('/') }, TestContext.Current.CancellationToken));

        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(first.BaseUrl, "_emulator/"), TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode);
    }

    [Fact]
    public async Task An_organization_id_that_is_not_a_uuid4_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => PolarEmulator.StartAsync(new PolarEmulatorOptions { OrganizationId = "org_1" }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Disposing_twice_is_harmless()
    {
        var emulator = await PolarEmulator.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        await emulator.DisposeAsync();
        await emulator.DisposeAsync();

        using var client = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri(emulator.BaseUrl, "_emulator/"), TestContext.Current.CancellationToken));
    }
}
