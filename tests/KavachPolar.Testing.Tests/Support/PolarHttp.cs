using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>A raw HTTP client for the emulator's API: bearer token (the emulator's when null, none when empty), <c>Polar-Version</c>, no redirects followed.</summary>
public sealed class PolarHttp : IDisposable
{
    private readonly HttpClient _client;

    public PolarHttp(PolarEmulator emulator, string? token = null, string? version = "2026-10")
    {
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = emulator.BaseUrl };
        var bearer = token ?? emulator.AccessToken;
        if (bearer.Length > 0)
        {
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (version is not null)
        {
            _client.DefaultRequestHeaders.Add("Polar-Version", version);
        }
    }

    /// <summary>Every JSON response received, with the operation that produced it, for schema checks.</summary>
    public List<(string Path, string Method, int Status, string Body)> Responses { get; } = [];

    public HttpClient Client => _client;

    public Task<PolarResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<PolarResponse> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, body);

    public Task<PolarResponse> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, body);

    public Task<PolarResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public async Task<PolarResponse> SendAsync(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            // Serialized to a string so the body goes out with its Content-Length: Polar refuses a POST, PUT or PATCH without one.
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return await SendAsync(request);
    }

    /// <summary>Sends a request built by the test (a chunked body, odd headers) with this client's token and version.</summary>
    public async Task<PolarResponse> SendAsync(HttpRequestMessage request)
    {
        // HttpClient makes the request's URI absolute when it sends it.
        var path = request.RequestUri!.OriginalString;
        using var response = await _client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        // The values as sent: HttpClient's parsed headers would re-render some (Cache-Control's directives reordered).
        var headers = response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated)
            .ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(", ", h.Value));
        var result = new PolarResponse((int)response.StatusCode, text, headers);
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            Responses.Add((path, request.Method.Method, result.Status, text));
        }

        return result;
    }

    public void Dispose() => _client.Dispose();
}
