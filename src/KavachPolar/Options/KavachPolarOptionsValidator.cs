using KavachPolar.Storage;
using KavachPolar.Storage.Cache;
using Microsoft.Extensions.Options;

namespace KavachPolar.Options;

/// <summary>
/// Start-up validation of <see cref="KavachPolarOptions"/>. Every message names the configuration key
/// to set, so a missing token stops the app with an instruction rather than failing on the first request.
/// </summary>
internal sealed class KavachPolarOptionsValidator : IValidateOptions<KavachPolarOptions>
{
    public ValidateOptionsResult Validate(string? name, KavachPolarOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.AccessToken))
        {
            failures.Add("KavachPolar:AccessToken is required: set it to a Polar organization access token (polar_oat_...), from Settings > Developers in Polar's dashboard (sandbox.polar.sh when KavachPolar:Sandbox is true).");
        }

        if (string.IsNullOrWhiteSpace(options.WebhookSecret))
        {
            failures.Add("KavachPolar:WebhookSecret is required: set it to the secret of your Polar webhook endpoint (whsec_...), as the dashboard shows it.");
        }

        if (options.WebhookSecrets.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("KavachPolar:WebhookSecrets must not contain empty entries.");
        }

        if (options.ApiBaseUrl is { } api && (!api.IsAbsoluteUri || (api.Scheme != Uri.UriSchemeHttps && api.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add("KavachPolar:ApiBaseUrl must be an absolute http or https URL, e.g. https://sandbox-api.polar.sh.");
        }

        if (options.WebhookTolerance <= TimeSpan.Zero || options.WebhookTolerance > TimeSpan.FromHours(1))
        {
            failures.Add("KavachPolar:WebhookTolerance must be more than zero and at most 01:00:00 (default 00:05:00).");
        }

        if (options.MaxWebhookBodyBytes < 1024 || options.MaxWebhookBodyBytes > 64 * 1024 * 1024)
        {
            failures.Add("KavachPolar:MaxWebhookBodyBytes must be between 1024 and 67108864 (default 262144).");
        }

        if (options.CheckoutRateLimit < 1)
        {
            failures.Add("KavachPolar:CheckoutRateLimit must be at least 1 (default 10 per minute per user).");
        }

        if (options.ReconcileRateLimit < 1)
        {
            failures.Add("KavachPolar:ReconcileRateLimit must be at least 1 (default 6 per minute per user).");
        }

        if (options.PolarRequestsPerMinute is < 1)
        {
            failures.Add("KavachPolar:PolarRequestsPerMinute must be at least 1 (default 500, or 100 with KavachPolar:Sandbox).");
        }

        if (options.WebhookProcessingTimeout <= TimeSpan.Zero || options.WebhookProcessingTimeout > TimeSpan.FromSeconds(9))
        {
            failures.Add("KavachPolar:WebhookProcessingTimeout must be more than zero and at most 00:00:09, inside Polar's 10 second delivery timeout (default 00:00:05).");
        }

        if (options.DatabaseTimeout <= TimeSpan.Zero || options.DatabaseTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("KavachPolar:DatabaseTimeout must be more than zero and at most 00:01:00 (default 00:00:05).");
        }

        if (options.ReadCacheExpiry < TimeSpan.Zero || options.ReadCacheExpiry > TimeSpan.FromHours(1))
        {
            failures.Add("KavachPolar:ReadCacheExpiry must be between 00:00:00 (off) and 01:00:00 (default 00:00:30).");
        }

        if (options.NotificationConnectionString is { Length: > 0 } notifications && OwnConnections.ConnectionStringProblem(notifications) is { } problem)
        {
            failures.Add("KavachPolar:NotificationConnectionString must be a PostgreSQL connection string (Host=...;Database=...;Username=...) that reaches PostgreSQL directly, or be left unset: " + problem);
        }

        if (options.Health.WebhookSilence is { } silence && (silence <= TimeSpan.Zero || silence > TimeSpan.FromDays(90)))
        {
            failures.Add("KavachPolar:Health:WebhookSilence must be more than zero and at most 90.00:00:00 (e.g. 1.00:00:00), or unset to turn the warning off.");
        }

        if (string.IsNullOrWhiteSpace(options.UserIdClaimType))
        {
            failures.Add("KavachPolar:UserIdClaimType must not be empty (default " + System.Security.Claims.ClaimTypes.NameIdentifier + ").");
        }

        foreach (var (slug, id) in options.Products)
        {
            if (!Guid.TryParseExact(id, "D", out _))
            {
                failures.Add($"KavachPolar:Products:{slug} must be a Polar product id (a UUID).");
            }
        }

        foreach (var (slug, id) in options.Benefits)
        {
            if (!Guid.TryParseExact(id, "D", out _))
            {
                failures.Add($"KavachPolar:Benefits:{slug} must be a Polar benefit id (a UUID).");
            }
        }

        foreach (var (slug, id) in options.Meters)
        {
            if (!Guid.TryParseExact(id, "D", out _))
            {
                failures.Add($"KavachPolar:Meters:{slug} must be a Polar meter id (a UUID).");
            }
        }

        for (var i = 0; i < options.OneTimePurchaseLimit.Count; i++)
        {
            var product = options.OneTimePurchaseLimit[i];
            if (!Guid.TryParseExact(product, "D", out _) && (product is null || !options.Products.ContainsKey(product)))
            {
                failures.Add($"KavachPolar:OneTimePurchaseLimit:{i} must be a Polar product id (a UUID) or a slug of KavachPolar:Products (got '{product}').");
            }
        }

        foreach (var origin in options.AllowedRedirectOrigins)
        {
            if (!IsOrigin(origin))
            {
                failures.Add($"KavachPolar:AllowedRedirectOrigins entries must be origins like https://app.example.org (got '{origin}').");
            }
        }

        foreach (var origin in options.TrustedOrigins)
        {
            if (!IsOrigin(origin))
            {
                failures.Add($"KavachPolar:TrustedOrigins entries must be origins like https://admin.example.org (got '{origin}').");
            }
        }

        if (options.PublicOrigin is { Length: > 0 } publicOrigin && !IsOrigin(publicOrigin))
        {
            failures.Add($"KavachPolar:PublicOrigin must be an origin like https://app.example.org, with no path (got '{publicOrigin}').");
        }

        if (options.SuccessUrl is { Length: > 0 } successUrl
            && !successUrl.StartsWith('/')
            && !(Uri.TryCreate(successUrl, UriKind.Absolute, out var s) && (s.Scheme == Uri.UriSchemeHttps || s.Scheme == Uri.UriSchemeHttp)))
        {
            failures.Add("KavachPolar:SuccessUrl must be a path like /billing/success?checkout_id={CHECKOUT_ID} or an absolute http(s) URL.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var o)
        && (o.Scheme == Uri.UriSchemeHttps || o.Scheme == Uri.UriSchemeHttp)
        && o.AbsolutePath == "/" && string.IsNullOrEmpty(o.Query) && string.IsNullOrEmpty(o.Fragment) && string.IsNullOrEmpty(o.UserInfo);
}
