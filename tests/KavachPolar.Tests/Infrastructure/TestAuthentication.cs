using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// "Authorization: Test user-id|email|name" (or "Bearer user-id|email|name", a token an API client adds itself, or
/// "Basic base64(user-id:password)", credentials a browser remembers and sends on its own) for API-style clients.
/// Browser-style clients sign in at /test/signin and carry a real authentication cookie instead.
/// </summary>
public sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";

    /// <summary>Whether this handler, rather than the cookie, authenticates a request with this Authorization header.</summary>
    public static bool Handles(string authorization) =>
        authorization.StartsWith("Test ", StringComparison.Ordinal)
        || authorization.StartsWith("Bearer ", StringComparison.Ordinal)
        || authorization.StartsWith("Basic ", StringComparison.Ordinal);

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        string[] parts;
        if (header.StartsWith("Test ", StringComparison.Ordinal) || header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            // Each part percent-escaped (KavachTestApp.ClientFor), so that any claim text fits in an ASCII header.
            parts = [.. header[(header.IndexOf(' ', StringComparison.Ordinal) + 1)..].Split('|').Select(Uri.UnescapeDataString)];
        }
        else if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            parts = [System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..])).Split(':')[0]];
        }
        else
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity(Claims(parts[0], parts.ElementAtOrDefault(1), parts.ElementAtOrDefault(2)), SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    public static List<Claim> Claims(string userId, string? email, string? name)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, userId) };
        if (!string.IsNullOrEmpty(email))
        {
            claims.Add(new Claim(ClaimTypes.Email, email));
        }

        if (!string.IsNullOrEmpty(name))
        {
            claims.Add(new Claim(ClaimTypes.Name, name));
        }

        return claims;
    }
}
