using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace KavachPolar.Sample.Hosting;

/// <summary>
/// The sample's development sign-in: anyone may sign in with any email, and the user id is derived from the
/// email so the same email is the same user across runs. A real app uses its own identity system instead;
/// KavachPolar only needs the user id claim (and the email claim, for Polar's customer).
/// </summary>
public static class SampleUsers
{
    /// <summary><c>usr_</c> and the first 20 hex digits of the SHA-256 of the trimmed, lower-case email.</summary>
    public static string UserIdFor(string email)
    {
        var normalized = email.Trim().ToLowerInvariant();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(normalized));
        return "usr_" + Convert.ToHexStringLower(hash)[..20];
    }

    public static ClaimsPrincipal CreatePrincipal(string email, string name)
    {
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, UserIdFor(email)),
                new Claim(ClaimTypes.Email, email.Trim()),
                new Claim(ClaimTypes.Name, name.Trim()),
            ],
            CookieAuthenticationDefaults.AuthenticationScheme);
        return new ClaimsPrincipal(identity);
    }

    public static string? UserId(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier);
}
