using KavachPolar.Diagnostics;
using KavachPolar.Polar;
using KavachPolar.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Health;

/// <summary>
/// Asks Polar, with GET requests only, whether KavachPolar's configuration works, and logs each problem as one line with
/// its own event id and the fix: the token and its environment (1101), <see cref="KavachPolarOptions.OrganizationId"/>
/// (1102), the read scopes KavachPolar needs (1103, probed with <c>limit=1</c>), and the webhook endpoint for this app
/// (1104–1109: none, disabled, events missing, wrong secret, not Raw). Secrets are compared, never logged.
/// </summary>
internal sealed class PolarSelfCheck(
    PolarApiClient polar,
    IOptionsMonitor<KavachPolarOptions> options,
    IServiceProvider services,
    ILogger<PolarSelfCheck> logger)
{
    /// <summary>The webhook route's endpoint name (<c>MapKavachPolar</c>), to find where this app receives webhooks.</summary>
    internal const string WebhookEndpointName = "KavachPolarWebhook";

    /// <summary>The read scopes KavachPolar needs, each with a collection route that takes it and what fails without it.</summary>
    private static readonly (string Scope, string Path, string Needs)[] ReadScopes =
    [
        ("subscriptions:read", "v1/subscriptions/", "reconcile, cancel, resume and plan changes"),
        ("customers:read", "v1/customers/", "checkout and the customer portal (finding the user's Polar customer)"),
        ("checkouts:read", "v1/checkouts/", "reconcile after a checkout (the success page)"),
    ];

    /// <summary>One problem found: its log event id, whether it stops a start with <c>FailStartup</c>, and a short text.</summary>
    internal sealed record Finding(int EventId, bool IsError, string Text);

    public async Task<IReadOnlyList<Finding>> RunAsync(CancellationToken ct)
    {
        var settings = options.CurrentValue;
        var host = PolarApiClient.ResolveBaseAddress(settings).Host;
        var findings = new List<Finding>();
        var organizations = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        var readable = new List<string>();
        foreach (var (scope, path, needs) in ReadScopes)
        {
            var probe = await polar.ProbeAsync(path, ct).ConfigureAwait(false);
            if (probe.IsSuccess)
            {
                readable.Add(scope);
                organizations.UnionWith(probe.Value!.Items.Select(i => i.OrganizationId).OfType<string>());
                continue;
            }

            var error = probe.Error!;
            if (error is { Kind: PolarErrorKind.TokenRejected, Code: "insufficient_scope" })
            {
                Log.SelfCheckScopeMissing(logger, scope, "/" + path, needs);
                findings.Add(new Finding(1103, true, $"The access token lacks {scope}."));
                continue;
            }

            if (error.Kind == PolarErrorKind.TokenRejected)
            {
                Log.SelfCheckTokenRejected(logger, host, TokenFix(settings));
                findings.Add(new Finding(1101, true, $"Polar at {host} refused the access token: check KavachPolar:AccessToken and KavachPolar:Sandbox."));
                return findings;
            }

            return Incomplete(findings, $"Polar answered GET /{path} with {Describe(error)}");
        }

        var webhook = await CheckWebhookEndpointsAsync(settings, organizations, findings, ct).ConfigureAwait(false);
        if (webhook is null)
        {
            return findings;
        }

        var organization = await CheckOrganizationAsync(settings, organizations, findings, ct).ConfigureAwait(false);
        if (findings.Count == 0 || findings.All(f => f.EventId == 1104))
        {
            Log.SelfCheckPassed(logger, host, organization, readable.Count == 0 ? "nothing" : string.Join(", ", readable), webhook);
        }

        return findings;
    }

    /// <summary>The webhook part of the summary, or null when the check stopped.</summary>
    private async Task<string?> CheckWebhookEndpointsAsync(KavachPolarOptions settings, HashSet<string> organizations, List<Finding> findings, CancellationToken ct)
    {
        var endpoints = new List<PolarWebhookEndpoint>();
        for (var page = 1; page <= 10; page++)
        {
            var listed = await polar.ListWebhookEndpointsAsync(page, ct).ConfigureAwait(false);
            if (listed.Error is { Kind: PolarErrorKind.TokenRejected, Code: "insufficient_scope" })
            {
                Log.SelfCheckWebhooksUnreadable(logger);
                findings.Add(new Finding(1104, false, "The access token lacks webhooks:read: the webhook endpoint was not checked."));
                return "the webhook endpoint was not checked (the token lacks webhooks:read)";
            }

            if (!listed.IsSuccess)
            {
                Incomplete(findings, $"Polar answered GET /v1/webhooks/endpoints with {Describe(listed.Error!)}");
                return null;
            }

            endpoints.AddRange(listed.Value!.Items);
            if (page >= listed.Value.Pagination.MaxPage)
            {
                break;
            }
        }

        organizations.UnionWith(endpoints.Select(e => e.OrganizationId).OfType<string>());
        var paths = WebhookPaths();
        if (paths.Count == 0)
        {
            // This instance maps no webhook route (a worker, or MapKavachPolar not called yet): another one receives them.
            return "this app maps no webhook route to check";
        }

        var ours = endpoints.Where(e => paths.Any(p => EndsWithPath(e.Url, p))).ToList();
        if (ours.Count == 0)
        {
            var urls = endpoints.Count == 0 ? "none" : string.Join(", ", endpoints.Select(e => e.Url));
            Log.SelfCheckNoWebhookEndpoint(logger, paths[0], urls, string.Join(", ", HandledWebhookEvents.All));
            findings.Add(new Finding(1105, true, $"Polar has no webhook endpoint whose URL ends with {paths[0]}."));
            return "";
        }

        var secrets = new HashSet<string>([settings.WebhookSecret, .. settings.WebhookSecrets], StringComparer.Ordinal);
        foreach (var endpoint in ours)
        {
            if (!endpoint.Enabled)
            {
                Log.SelfCheckEndpointDisabled(logger, endpoint.Id, endpoint.Url);
                findings.Add(new Finding(1106, true, $"Polar disabled webhook endpoint {endpoint.Id} ({endpoint.Url}): re-enable it, then reconcile."));
            }

            if (endpoint.Format is { } format && !string.Equals(format, "raw", StringComparison.Ordinal))
            {
                Log.SelfCheckEndpointFormat(logger, endpoint.Id, endpoint.Url, format);
                findings.Add(new Finding(1109, false, $"Webhook endpoint {endpoint.Id} has the format {format}, not Raw."));
            }

            var missing = HandledWebhookEvents.All.Where(e => !endpoint.Events.Contains(e, StringComparer.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                Log.SelfCheckEndpointEventsMissing(logger, endpoint.Id, endpoint.Url, string.Join(", ", missing));
                findings.Add(new Finding(1107, false, $"Webhook endpoint {endpoint.Id} does not send {string.Join(", ", missing)}."));
            }

            if (!secrets.Contains(endpoint.Secret))
            {
                Log.SelfCheckEndpointSecretMismatch(logger, endpoint.Id, endpoint.Url);
                findings.Add(new Finding(1108, true, $"Webhook endpoint {endpoint.Id} signs with a secret that is not configured (KavachPolar:WebhookSecret)."));
            }
        }

        return $"webhook endpoint {ours[0].Url} is {(ours[0].Enabled ? "enabled" : "disabled")}, sends the events KavachPolar handles and signs with a configured secret";
    }

    /// <summary>The organization part of the summary (", organization ..." or "").</summary>
    private async Task<string> CheckOrganizationAsync(KavachPolarOptions settings, HashSet<string> organizations, List<Finding> findings, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.OrganizationId))
        {
            return organizations.Count == 1 ? $" (organization {organizations.First()})" : "";
        }

        var configured = settings.OrganizationId;
        var other = organizations.FirstOrDefault(o => !string.Equals(o, configured, StringComparison.OrdinalIgnoreCase));
        var result = await polar.GetOrganizationAsync(configured, ct).ConfigureAwait(false);
        if (result.IsSuccess)
        {
            return $" for organization {result.Value!.Slug ?? result.Value.Id}";
        }

        var known = other is null ? "cannot see that organization" : $"belongs to organization {other}";
        switch (result.Error!)
        {
            case { Kind: PolarErrorKind.NotFound }:
                Mismatch(known);
                break;
            case { Kind: PolarErrorKind.Validation }:
                Mismatch("cannot see it: it is not a Polar organization id (a UUID)");
                break;
            case { Kind: PolarErrorKind.TokenRejected } when other is not null:
                // Without organizations:read, the objects the token listed still name its organization.
                Mismatch(known);
                break;
        }

        return $" (organization {configured})";

        void Mismatch(string tokenOrganization)
        {
            Log.SelfCheckOrganizationMismatch(logger, configured, tokenOrganization);
            findings.Add(new Finding(1102, true, $"KavachPolar:OrganizationId is {configured}, but the access token {tokenOrganization}."));
        }
    }

    /// <summary>Where this app receives webhooks: the webhook route of every <c>MapKavachPolar</c>, group prefixes included.</summary>
    private List<string> WebhookPaths() =>
        services.GetService<EndpointDataSource>()?.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == WebhookEndpointName)
            .Select(e => "/" + (e.RoutePattern.RawText ?? "").Trim('/'))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList() ?? [];

    /// <summary>ASP.NET Core matches paths case-insensitively; a path base (<c>UsePathBase</c>) or a proxy prefix may come first.</summary>
    /// <remarks><paramref name="path"/> starts with '/', so a match always starts at a segment boundary.</remarks>
    private static bool EndsWithPath(string url, string path) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && ("/" + uri.AbsolutePath.Trim('/')).EndsWith(path, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// What to do about a 401. Nothing in a Polar token tells which environment issued it (both start with
    /// <c>polar_oat_</c>), and sending it to the other environment to find out would leak it there: the fix names
    /// the setting.
    /// </summary>
    internal static string TokenFix(KavachPolarOptions o)
    {
        var token = o.AccessToken.Trim();
        var shape = token.StartsWith("whsec_", StringComparison.Ordinal) || token.StartsWith("polar_whs_", StringComparison.Ordinal)
            ? "KavachPolar:AccessToken holds a webhook secret: put the organization access token (polar_oat_...) there and the secret in KavachPolar:WebhookSecret. "
            : token.StartsWith("polar_cst_", StringComparison.Ordinal) || token.StartsWith("polar_mst_", StringComparison.Ordinal)
                ? "KavachPolar:AccessToken holds a customer or member session token: KavachPolar needs an organization access token (polar_oat_...). "
                : "";
        if (o.ApiBaseUrl is not null)
        {
            return shape + $"The token goes to KavachPolar:ApiBaseUrl ({o.ApiBaseUrl}): use a token that this server issued, or remove ApiBaseUrl to use Polar (KavachPolar:Sandbox chooses the environment).";
        }

        return shape + (o.Sandbox
            ? "Check KavachPolar:Sandbox: it is true (sandbox-api.polar.sh), and a token from polar.sh (production) only works with Sandbox false. Otherwise the token is revoked or mistyped: create an organization access token at sandbox.polar.sh (Settings > Developers)."
            : "Check KavachPolar:Sandbox: it is false (api.polar.sh), and a token from sandbox.polar.sh only works with Sandbox true. Otherwise the token is revoked or mistyped: create an organization access token at polar.sh (Settings > Developers).");
    }

    private List<Finding> Incomplete(List<Finding> findings, string reason)
    {
        Log.SelfCheckIncomplete(logger, reason);
        findings.Add(new Finding(1110, false, "The self-check could not finish: " + reason + "."));
        return findings;
    }

    private static string Describe(PolarApiError error) => error switch
    {
        { Kind: PolarErrorKind.Unavailable, StatusCode: null } => "no answer (log event 1002 names the cause)",
        { Kind: PolarErrorKind.RateLimited } => "429 (rate limited)",
        { StatusCode: { } status } => $"HTTP {status} ({error.Code})",
        _ => error.Code ?? error.Kind.ToString(),
    };
}
