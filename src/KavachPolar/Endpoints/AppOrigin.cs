using Microsoft.AspNetCore.Http;

namespace KavachPolar.Endpoints;

/// <summary>
/// This app's origin, <c>scheme://host[:port]</c>: <see cref="KavachPolarOptions.PublicOrigin"/> when set, else the
/// request's (whose <c>Host</c> a client chooses, unless the host filters it with <c>AllowedHosts</c>).
/// </summary>
internal static class AppOrigin
{
    public static string Of(HttpRequest request, KavachPolarOptions options) =>
        string.IsNullOrEmpty(options.PublicOrigin)
            ? request.Scheme + "://" + request.Host.Value
            : options.PublicOrigin.TrimEnd('/');
}
