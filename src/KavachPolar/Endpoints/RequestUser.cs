using System.Security.Claims;
using KavachPolar.Storage;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Endpoints;

/// <summary>The signed-in user as the claims say: the id from the configured claim, email and name.</summary>
internal sealed record RequestUser(string Id, string? Email, string? Name)
{
    /// <summary>The user <see cref="UserRequestGuard"/> let through to this route.</summary>
    public static RequestUser Of(HttpContext context) =>
        context.Features.Get<RequestUser>() ?? throw new InvalidOperationException("The route was mapped without UserRequestGuard.");

    public static RequestUser? From(HttpContext context, KavachPolarOptions options)
    {
        var principal = context.User;
        if (principal.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var id = principal.FindFirst(options.UserIdClaimType)?.Value;
        if (string.IsNullOrWhiteSpace(id) || id.Length > Limits.UserId)
        {
            return null;
        }

        var email = principal.FindFirst(ClaimTypes.Email)?.Value ?? principal.FindFirst("email")?.Value;
        var name = principal.FindFirst(ClaimTypes.Name)?.Value ?? principal.FindFirst("name")?.Value;
        return new RequestUser(id, string.IsNullOrWhiteSpace(email) ? null : email, string.IsNullOrWhiteSpace(name) ? null : name);
    }
}
