using System.Net.Http.Headers;
using System.Text;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Parity;

/// <summary>
/// Where a parity scenario runs: the emulator (always) or Polar's sandbox (only when
/// <c>POLAR_SANDBOX_TOKEN</c>, <c>POLAR_SANDBOX_ORGANIZATION_ID</c> and <c>POLAR_SANDBOX_PRODUCT_ID</c> are set).
/// The scenarios use nothing but HTTP, so both targets answer the same requests.
/// </summary>
public sealed class ParityTarget : IAsyncDisposable
{
    public const string Emulator = "emulator";
    public const string Sandbox = "sandbox";
    public const string SkipReason = "Polar sandbox parity needs POLAR_SANDBOX_TOKEN, POLAR_SANDBOX_ORGANIZATION_ID and POLAR_SANDBOX_PRODUCT_ID.";

    private readonly PolarEmulator? _emulator;
    private readonly HttpClient _client;

    private ParityTarget(string name, Uri baseUrl, string token, string organizationId, string productId, PolarEmulator? emulator)
    {
        Name = name;
        BaseUrl = baseUrl;
        Token = token;
        OrganizationId = organizationId;
        ProductId = productId;
        _emulator = emulator;
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }

    public Uri BaseUrl { get; }

    public string Token { get; }

    public string OrganizationId { get; }

    public string ProductId { get; }

    /// <summary>The emulator behind this target, or null for the sandbox.</summary>
    public PolarEmulator? EmulatorInstance => _emulator;

    public static TheoryData<string> All() => [Emulator, Sandbox];

    /// <summary>Starts the emulator, or connects to the sandbox; skips the test when the sandbox is not configured.</summary>
    public static async Task<ParityTarget> CreateAsync(string name)
    {
        if (name == Emulator)
        {
            var emulator = await PolarEmulator.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
            return new ParityTarget(name, emulator.BaseUrl, emulator.AccessToken, emulator.OrganizationId, emulator.Products[0].Id, emulator);
        }

        var token = Environment.GetEnvironmentVariable("POLAR_SANDBOX_TOKEN");
        var organization = Environment.GetEnvironmentVariable("POLAR_SANDBOX_ORGANIZATION_ID");
        var product = Environment.GetEnvironmentVariable("POLAR_SANDBOX_PRODUCT_ID");
        Assert.SkipWhen(string.IsNullOrEmpty(token) || string.IsNullOrEmpty(organization) || string.IsNullOrEmpty(product), SkipReason);
        return new ParityTarget(name, new Uri("https://sandbox-api.polar.sh/"), token!, organization!, product!, null);
    }

    /// <summary>A unique address on a domain that passes Polar's deliverability check.</summary>
    public static string UniqueEmail(string tag) => $"kavachpolar.parity+{tag}.{Guid.NewGuid():N}@gmail.com";

    /// <param name="method">The HTTP method.</param>
    /// <param name="path">Relative to the API root, e.g. <c>v1/checkouts/</c>.</param>
    /// <param name="json">The body, sent with its <c>Content-Length</c> unless <paramref name="chunked"/>.</param>
    /// <param name="token">The bearer token: the target's when null, none when empty.</param>
    /// <param name="version">The <c>Polar-Version</c> header; none when null.</param>
    /// <param name="chunked">Send the body chunked, without <c>Content-Length</c>, as .NET's <c>JsonContent</c> does.</param>
    public async Task<PolarResponse> SendAsync(HttpMethod method, string path, string? json = null, string? token = null, string? version = "2026-10", bool chunked = false)
    {
        using var request = new HttpRequestMessage(method, path);
        var bearer = token ?? Token;
        if (bearer.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (version is not null)
        {
            request.Headers.Add("Polar-Version", version);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            request.Headers.TransferEncodingChunked = chunked;
        }

        using var response = await _client.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(", ", h.Value));
        return new PolarResponse((int)response.StatusCode, body, headers);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
