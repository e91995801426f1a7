using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Api;

/// <summary>
/// Polar's token scopes (<c>server/polar/auth/scope.py</c>, <c>Scope</c>) and the refusal of a token that holds none
/// of a route's: the route's <c>Authenticator</c> (<c>auth/dependencies.py</c>) lets a request through when the token
/// has at least one of the required scopes, else raises <c>InsufficientScopeError</c> (<c>oauth2/exceptions.py</c>),
/// which authlib answers with 403, a <c>json.dumps</c> body and a <c>WWW-Authenticate</c> challenge naming the scopes.
/// </summary>
internal static class Scopes
{
    public const string InsufficientScopeDescription = "The request requires higher privileges than provided by the access token.";

    /// <summary>Every scope Polar's <c>Scope</c> enum has at commit c6c3645e, in its order.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "openid", "profile", "email", "user:read", "user:write",
        "organizations:read", "organizations:write", "custom_fields:read", "custom_fields:write",
        "discounts:read", "discounts:write", "checkout_links:read", "checkout_links:write",
        "checkouts:read", "checkouts:write", "transactions:read", "transactions:write", "payouts:read", "payouts:write",
        "products:read", "products:write", "benefits:read", "benefits:write", "events:read", "events:write",
        "meters:read", "meters:write", "files:read", "files:write", "subscriptions:read", "subscriptions:write",
        "customers:read", "customers:write", "members:read", "members:write", "wallets:read", "wallets:write",
        "disputes:read", "disputes:write", "customer_meters:read", "customer_sessions:write", "member_sessions:write",
        "customer_seats:read", "customer_seats:write", "orders:read", "orders:write", "refunds:read", "refunds:write",
        "payments:read", "metrics:read", "metrics:write", "webhooks:read", "webhooks:write",
        "license_keys:read", "license_keys:write", "customer_portal:read", "customer_portal:write",
        "notifications:read", "notifications:write", "notification_recipients:read", "notification_recipients:write",
        "organization_access_tokens:read", "organization_access_tokens:write",
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string scope) => Known.Contains(scope);

    /// <summary>
    /// authlib's 403: <c>{"error": "insufficient_scope", "error_description": "..."}</c> (with <c>json.dumps</c>'s
    /// spaces) and <c>WWW-Authenticate: Bearer realm="polar", scope="...", error="insufficient_scope",
    /// error_description="..."</c> (realm, then the extra attributes, then the error: authlib's
    /// <c>InvalidTokenError.get_headers</c>). Polar joins a Python set for <c>scope</c>, whose order varies between
    /// processes; the emulator writes the route's order.
    /// </summary>
    public static Task WriteInsufficientScopeAsync(HttpContext context, IEnumerable<string> required)
    {
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"polar\", scope=\"{string.Join(' ', required)}\", error=\"insufficient_scope\", error_description=\"{InsufficientScopeDescription}\"";
        return PolarApi.WriteRawJsonAsync(context, 403, $"{{\"error\": \"insufficient_scope\", \"error_description\": \"{InsufficientScopeDescription}\"}}");
    }
}
