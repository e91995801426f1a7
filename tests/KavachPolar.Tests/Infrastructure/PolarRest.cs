using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Testing;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>Reads the Polar stand-in through its REST API, as any Polar client would.</summary>
public static class PolarRest
{
    public static async Task<JsonObject> GetAsync(PolarEmulator polar, string path, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = polar.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", polar.AccessToken);
        var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!;
    }

    /// <summary>Sends a PATCH with a JSON body, as another Polar client (the dashboard, the portal) would.</summary>
    public static async Task<JsonObject> PatchAsync(PolarEmulator polar, string path, string json, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = polar.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", polar.AccessToken);
        var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!;
    }

    /// <summary>Every checkout Polar holds, newest first.</summary>
    public static async Task<List<JsonObject>> CheckoutsAsync(PolarEmulator polar, CancellationToken ct) =>
        (await GetAsync(polar, "v1/checkouts/?limit=100", ct))["items"]!.AsArray().Select(n => n!.AsObject()).ToList();
}
