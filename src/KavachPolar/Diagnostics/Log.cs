using Microsoft.Extensions.Logging;

namespace KavachPolar.Diagnostics;

/// <summary>
/// Every log line KavachPolar writes, with fixed event ids. None carries a token, a secret, a
/// signature or a request body.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Error, "Polar rejected the access token (HTTP {StatusCode}, {Code}) at {ApiHost}. Check KavachPolar:AccessToken and KavachPolar:Sandbox: sandbox tokens only work against sandbox-api.polar.sh, production tokens only against api.polar.sh, and the token needs the checkouts, customers and subscriptions scopes.")]
    public static partial void PolarTokenRejected(ILogger logger, int statusCode, string code, string apiHost);

    [LoggerMessage(1002, LogLevel.Warning, "Polar could not be reached for {Method} {Url}: {ErrorType} ({Cause}). The host comes from {Setting}.")]
    public static partial void PolarUnreachable(ILogger logger, string method, string url, string errorType, string cause, string setting);

    [LoggerMessage(1006, LogLevel.Debug, "Polar answered {Method} {Url} with HTTP {StatusCode} in {ElapsedMs} ms.")]
    public static partial void PolarCalled(ILogger logger, string method, string url, int statusCode, long elapsedMs);

    [LoggerMessage(1003, LogLevel.Error, "Polar answered {Method} {Url} with an unexpected HTTP {StatusCode}: a redirect, an unknown route or an unreadable body usually means a proxy or a wrong KavachPolar:ApiBaseUrl.")]
    public static partial void PolarUnexpectedResponse(ILogger logger, string method, string url, int statusCode);

    [LoggerMessage(1004, LogLevel.Warning, "Polar refused {Method} {Url} with HTTP {StatusCode} ({Code}).")]
    public static partial void PolarError(ILogger logger, string method, string url, int statusCode, string code);

    [LoggerMessage(1005, LogLevel.Warning, "This instance used its {Limit} Polar requests for the last minute (KavachPolar:PolarRequestsPerMinute; Polar limits the whole organization); the call was not sent, retry in {RetryAfter}.")]
    public static partial void PolarBudgetExhausted(ILogger logger, int limit, TimeSpan retryAfter);

    [LoggerMessage(1007, LogLevel.Warning, "User {UserId} used its fair share of this instance's Polar budget ({Share} of the {Limit} requests a minute, shared by {ActiveUsers} users who called Polar in the last minute and one share kept free); the call was not sent, retry in {RetryAfter}.")]
    public static partial void PolarFairShareExhausted(ILogger logger, string userId, int share, int limit, int activeUsers, TimeSpan retryAfter);

    [LoggerMessage(1111, LogLevel.Error, "Polar refused {Method} {Url} with 403 insufficient_scope: the access token has none of the scopes {Scopes} that this call takes. Create an organization access token that has it in Polar's dashboard (Settings > Developers) and set KavachPolar:AccessToken.")]
    public static partial void PolarScopeMissing(ILogger logger, string method, string url, string scopes);

    [LoggerMessage(1100, LogLevel.Information, "Polar self-check passed at {ApiHost}: the access token is accepted{Organization}, it reads {Scopes}, and {Webhook}.")]
    public static partial void SelfCheckPassed(ILogger logger, string apiHost, string organization, string scopes, string webhook);

    [LoggerMessage(1101, LogLevel.Error, "Polar at {ApiHost} refused KavachPolar:AccessToken (401 invalid_token), so no Polar call can work. {Fix}")]
    public static partial void SelfCheckTokenRejected(ILogger logger, string apiHost, string fix);

    [LoggerMessage(1102, LogLevel.Error, "KavachPolar:OrganizationId is {OrganizationId}, but the access token {TokenOrganization}: look-ups scoped to it find nothing and webhooks of the token's organization are ignored. Set KavachPolar:OrganizationId to your organization's id (Polar's dashboard, Settings > General) or use a token of that organization.")]
    public static partial void SelfCheckOrganizationMismatch(ILogger logger, string organizationId, string tokenOrganization);

    [LoggerMessage(1103, LogLevel.Error, "The access token lacks the scope {Scope} (Polar answered GET {Path} with 403 insufficient_scope): {Needs} fail until it has it. Create an organization access token with {Scope} in Polar's dashboard (Settings > Developers) and set KavachPolar:AccessToken.")]
    public static partial void SelfCheckScopeMissing(ILogger logger, string scope, string path, string needs);

    [LoggerMessage(1104, LogLevel.Information, "The access token lacks webhooks:read, so the self-check cannot look at Polar's webhook endpoint for this app (URL, enabled, events, secret). Optional: give the token webhooks:read to have it checked at every start.")]
    public static partial void SelfCheckWebhooksUnreadable(ILogger logger);

    [LoggerMessage(1105, LogLevel.Error, "Polar has no webhook endpoint whose URL ends with {WebhookPath} (its endpoints: {Urls}), so no subscription change reaches this app. In Polar's dashboard (Settings > Webhooks) point an endpoint at https://<your public host>{WebhookPath}, format Raw, with the events {Events}; a tunnel URL (cloudflared, ngrok) changes at every start unless reserved.")]
    public static partial void SelfCheckNoWebhookEndpoint(ILogger logger, string webhookPath, string urls, string events);

    [LoggerMessage(1106, LogLevel.Error, "Polar disabled webhook endpoint {EndpointId} ({Url}), as it does after ten failed deliveries in a row: it skips every event since then, and they are lost unless reconciled. Fix what made deliveries fail, re-enable the endpoint in Polar's dashboard (Settings > Webhooks), then call IKavachPolarSubscriptions.ReconcileAllAsync to repair what was missed.")]
    public static partial void SelfCheckEndpointDisabled(ILogger logger, string endpointId, string url);

    [LoggerMessage(1107, LogLevel.Warning, "Webhook endpoint {EndpointId} ({Url}) does not send {MissingEvents}, which KavachPolar handles: changes announced only by them reach this app late or not at all. Tick them in Polar's dashboard (Settings > Webhooks, the endpoint, Events).")]
    public static partial void SelfCheckEndpointEventsMissing(ILogger logger, string endpointId, string url, string missingEvents);

    [LoggerMessage(1108, LogLevel.Error, "Webhook endpoint {EndpointId} ({Url}) signs with a secret that is neither KavachPolar:WebhookSecret nor one of KavachPolar:WebhookSecrets, so this app will refuse every delivery (log event 2008) and Polar will disable the endpoint. Copy the endpoint's secret from Polar's dashboard into KavachPolar:WebhookSecret (keep the previous one in WebhookSecrets while rotating).")]
    public static partial void SelfCheckEndpointSecretMismatch(ILogger logger, string endpointId, string url);

    [LoggerMessage(1109, LogLevel.Warning, "Webhook endpoint {EndpointId} ({Url}) has the format {Format}: Polar sends it chat messages, which this app cannot verify. Give it the format Raw in Polar's dashboard (Settings > Webhooks).")]
    public static partial void SelfCheckEndpointFormat(ILogger logger, string endpointId, string url, string format);

    [LoggerMessage(1110, LogLevel.Warning, "The Polar self-check could not finish: {Reason}. It runs again at the next start.")]
    public static partial void SelfCheckIncomplete(ILogger logger, string reason);

    [LoggerMessage(2001, LogLevel.Warning, "Webhook refused: {Reason}.")]
    public static partial void WebhookRefused(ILogger logger, string reason);

    [LoggerMessage(2008, LogLevel.Warning, "Webhook refused: its signature matches none of the configured secrets ({Refused} refused so far). Set KavachPolar:WebhookSecret (or WebhookSecrets while rotating) to this endpoint's secret as Polar's dashboard shows it. Usual causes: the secret of another endpoint or of the other environment (sandbox or production), whitespace copied with it, or a secret rotated at Polar but not here. Logged at most once a minute.")]
    public static partial void WebhookSignatureMismatch(ILogger logger, long refused);

    [LoggerMessage(2002, LogLevel.Error, "Webhook {WebhookId} ({EventType}) is validly signed but could not be processed ({Error}); it is acknowledged and kept in kavach_polar_webhook_events for inspection and replay.")]
    public static partial void WebhookUnprocessable(ILogger logger, string webhookId, string eventType, string error);

    [LoggerMessage(2003, LogLevel.Error, "Webhook {WebhookId} could not be stored; answering 503 so that Polar retries.")]
    public static partial void WebhookStoreFailed(ILogger logger, Exception exception, string webhookId);

    [LoggerMessage(2004, LogLevel.Debug, "Webhook {WebhookId} ({EventType}): {Outcome}.")]
    public static partial void WebhookProcessed(ILogger logger, string webhookId, string eventType, string outcome);

    [LoggerMessage(2005, LogLevel.Information, "Subscription {SubscriptionId} matches no user yet (customer {CustomerId}); kept and linked when the user becomes known.")]
    public static partial void SubscriptionUnlinked(ILogger logger, string subscriptionId, string customerId);

    [LoggerMessage(2006, LogLevel.Warning, "Subscription {SubscriptionId} was started by user {MetadataUserId} (checkout metadata) on Polar customer {CustomerId}, whose external id is user {ExternalUserId}: Polar reused that customer by the email typed on its checkout page. The subscription goes to the user who started the checkout; the customer is bound to neither user.")]
    public static partial void AttributionConflict(ILogger logger, string subscriptionId, string customerId, string metadataUserId, string externalUserId);

    [LoggerMessage(2007, LogLevel.Information, "Subscription {SubscriptionId} (customer {CustomerId}) names a forgotten user; recorded and not applied.")]
    public static partial void SubscriptionOfForgottenUser(ILogger logger, string subscriptionId, string customerId);

    [LoggerMessage(1200, LogLevel.Information, "Benefit grant {GrantId} (subscription {SubscriptionId}, customer {CustomerId}) matches no user yet; kept and linked when its subscription, order or user becomes known.")]
    public static partial void BenefitGrantUnlinked(ILogger logger, string grantId, string subscriptionId, string customerId);

    [LoggerMessage(1201, LogLevel.Information, "Benefit grant {GrantId} of benefit {BenefitId} (user {UserId}) failed at Polar ({ErrorType}: {ErrorMessage}); stored, not counted as held. For Discord and GitHub the customer links an account in Polar's customer portal, and Polar grants it then.")]
    public static partial void BenefitGrantFailed(ILogger logger, string grantId, string benefitId, string userId, string errorType, string errorMessage);

    [LoggerMessage(1202, LogLevel.Information, "Benefit grant {GrantId} (customer {CustomerId}) names a forgotten user; recorded and not applied.")]
    public static partial void BenefitGrantOfForgottenUser(ILogger logger, string grantId, string customerId);

    [LoggerMessage(1203, LogLevel.Warning, "RequireBenefit names {Benefits}: one of them is neither a Polar benefit id (a UUID) nor a slug of KavachPolar:Benefits, and nobody holds it. Add the slug to KavachPolar:Benefits or use the benefit's id. Logged once.")]
    public static partial void UnknownBenefitName(ILogger logger, string benefits);

    [LoggerMessage(1204, LogLevel.Warning, "A customer.state_changed of Polar customer {CustomerId} names other benefits than its stored grants, and reading its grants from Polar failed ({ErrorType}). The grant webhooks, a later state change or a reconcile bring them.")]
    public static partial void CustomerStateRefreshFailed(ILogger logger, string customerId, string errorType);

    [LoggerMessage(1221, LogLevel.Information, "Order {OrderId} (subscription {SubscriptionId}, customer {CustomerId}) matches no user yet; kept and linked when its subscription or customer becomes a user's.")]
    public static partial void OrderUnlinked(ILogger logger, string orderId, string subscriptionId, string customerId);

    [LoggerMessage(1222, LogLevel.Information, "Order {OrderId} (customer {CustomerId}) names a forgotten user; recorded and not applied.")]
    public static partial void OrderOfForgottenUser(ILogger logger, string orderId, string customerId);

    [LoggerMessage(1223, LogLevel.Warning, "RequirePurchase names {Products}: one of them is neither a Polar product id (a UUID) nor a slug of KavachPolar:Products, and nobody has bought it. Add the slug to KavachPolar:Products or use the product's id. Logged once.")]
    public static partial void UnknownProductName(ILogger logger, string products);

    [LoggerMessage(1224, LogLevel.Information, "Polar made no invoice for order {OrderId} (customer {CustomerId}): the order has no billing name or address (MissingInvoiceBillingDetails). Answered invoice_billing_details_missing; the customer can add them in Polar's customer portal.")]
    public static partial void InvoiceBillingDetailsMissing(ILogger logger, string orderId, string customerId);

    [LoggerMessage(3001, LogLevel.Warning, "OnSubscriptionChange failed for user {UserId}, event {EventId} (attempt {Attempt}, {ErrorType}); retrying in {Delay}.")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string userId, string eventId, int attempt, string errorType, TimeSpan delay);

    [LoggerMessage(3002, LogLevel.Warning, "The subscription-change dispatcher could not reach the database ({ErrorType}); retrying.")]
    public static partial void DispatcherStoreFailed(ILogger logger, string errorType);

    [LoggerMessage(3006, LogLevel.Warning, "The table kavach_polar_handled_kinds is not in this database, so only a process with its own handlers queues callbacks: a change written by a job, a command-line tool or a host without OnSubscriptionChange reaches no handler. Apply KavachPolar's migrations (KavachPolarDbContext), or, when your own DbContext holds KavachPolar's tables (ApplyKavachPolarModel), add a migration of it.")]
    public static partial void HandledKindsTableMissing(ILogger logger);

    [LoggerMessage(3007, LogLevel.Warning, "This host could not declare the kinds of change it handles ({ErrorType}); retrying in a minute. Processes without handlers keep queuing for it while its last declaration is less than an hour old.")]
    public static partial void HandledKindsDeclareFailed(ILogger logger, string errorType);

    [LoggerMessage(3008, LogLevel.Debug, "Reading which kinds of change the app's hosts handle failed ({ErrorType}); read again in a few seconds, the last answer serves meanwhile.")]
    public static partial void HandledKindsReadFailed(ILogger logger, string errorType);

    [LoggerMessage(3003, LogLevel.Warning, "The subscription cache lost its PostgreSQL notification connection ({ErrorType}); reads go to the database until it reconnects.")]
    public static partial void CacheListenerFailed(ILogger logger, string errorType);

    [LoggerMessage(3005, LogLevel.Warning, "The subscription cache cannot hear other instances' changes: its LISTEN connection answers but receives no notifications, as behind a connection pooler in transaction or statement mode (PgBouncer, Supavisor, a cloud provider's pooler). The read cache stays off on this instance (reads go to the database) until it restarts. To turn it on, set KavachPolar:NotificationConnectionString to a connection string that reaches PostgreSQL directly or through a pooler in session mode.")]
    public static partial void CacheCannotListen(ILogger logger);

    [LoggerMessage(3004, LogLevel.Warning, "Other instances could not be told of subscription changes ({ErrorType}); retrying. Until they are, they may serve what they cached for up to KavachPolar:ReadCacheExpiry.")]
    public static partial void AnnouncementFailed(ILogger logger, string errorType);

    [LoggerMessage(3009, LogLevel.Warning, "No verified webhook delivery for {Silence} (the last at {LastDelivery}) while {LiveSubscriptions} subscriptions are live (KavachPolar:Health:WebhookSilence). Check Polar's webhook endpoint for this app (Settings > Webhooks): disabled after ten failures (re-enable it, then call IKavachPolarSubscriptions.ReconcileAllAsync), a URL that no longer reaches this app, or a secret that does not match (log event 2008). Restarting runs the self-check, which names the cause (events 1105-1108).")]
    public static partial void WebhookSilence(ILogger logger, string silence, string lastDelivery, int liveSubscriptions);

    [LoggerMessage(3010, LogLevel.Debug, "Reading the last webhook delivery and the live subscriptions failed ({ErrorType}); tried again at the next interval.")]
    public static partial void WebhookSilenceProbeFailed(ILogger logger, string errorType);

    [LoggerMessage(4001, LogLevel.Error, "The database could not be reached while serving {Route}.")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string route);

    [LoggerMessage(4002, LogLevel.Warning, "{Operation} refused for user {UserId}: {Reason}.")]
    public static partial void RequestRefused(ILogger logger, string operation, string userId, string reason);

    [LoggerMessage(4004, LogLevel.Error, "Checkout refused for user {UserId}: Polar customer {CustomerId} already has this user's email and belongs to external id '{ExternalId}'. Polar would attach the purchase to that customer. If that customer is this user, set its external id to this user id in the Polar dashboard; otherwise the user must use another email.")]
    public static partial void CustomerConflict(ILogger logger, string userId, string customerId, string externalId);

    [LoggerMessage(4005, LogLevel.Information, "User {UserId} was forgotten (Polar customer {CustomerId}).")]
    public static partial void UserForgotten(ILogger logger, string userId, string customerId);

    [LoggerMessage(4006, LogLevel.Debug, "Asking the database whether it is PostgreSQL with the webhook function failed; asked again in a few seconds, the last answer serves meanwhile.")]
    public static partial void DatabaseProbeFailed(ILogger logger, Exception exception);

    [LoggerMessage(4007, LogLevel.Warning, "KavachPolar's webhook function in this PostgreSQL database is {Found}, not '{Expected}', so every webhook takes the general path (several round trips instead of one). Apply this version's KavachPolar migrations (KavachPolarDbContext), or, when your own DbContext holds KavachPolar's tables, add a migration to it that calls migrationBuilder.CreateKavachPolarFunctions(), or, when the tables were created with EnsureCreated, call dbContext.Database.CreateKavachPolarFunctionsAsync() after it. An instance older than the database's migrations takes the general path until it is replaced.")]
    public static partial void WebhookFunctionUnusable(ILogger logger, string found, string expected);

    [LoggerMessage(4009, LogLevel.Warning, "A prepared PostgreSQL statement failed ({SqlState}) the way it does behind a connection pooler in transaction or statement mode (PgBouncer, Supavisor, a cloud provider's pooler), where each transaction may run on another server connection. The statement did not run; KavachPolar runs it again unprepared and prepares nothing more on this data source. Add No Reset On Close=true to the connection string, the PostgreSQL driver's setting for such poolers, to start that way.")]
    public static partial void PreparedStatementsFailed(ILogger logger, string sqlState);

    [LoggerMessage(4008, LogLevel.Warning, "KavachPolar:PublicOrigin is not set ({Environment} environment), so same-origin success URLs and the cross-site check trust the request's Host header, which a client can choose unless AllowedHosts restricts it. Set KavachPolar:PublicOrigin to this app's public origin, e.g. https://app.example.org.")]
    public static partial void PublicOriginMissing(ILogger logger, string environment);

    [LoggerMessage(4010, LogLevel.Warning, "A gated request reached authorization before authentication ran: app.UseAuthorization() comes before app.UseAuthentication() (or UseAuthentication() is missing), so every signed-in user looks anonymous and is sent to sign in, subscribed or not. Call app.UseAuthentication() before app.UseAuthorization(). Logged once.")]
    public static partial void AuthorizationBeforeAuthentication(ILogger logger);

    [LoggerMessage(4003, LogLevel.Warning, "Purging old processed-webhook rows failed ({ErrorType}); retrying in an hour.")]
    public static partial void RetentionFailed(ILogger logger, string errorType);

    [LoggerMessage(2501, LogLevel.Warning, "Polar's validation refused {Count} usage events; they are quarantined in kavach_polar_usage_events with Polar's error (first: {Error}) and the rest of the batch was sent. Fix the cause (the recorded names and metadata, or the meter), then call IKavachPolarUsage.ReplayQuarantinedAsync.")]
    public static partial void UsageEventsQuarantined(ILogger logger, int count, string error);

    [LoggerMessage(2502, LogLevel.Warning, "{Count} usage events were not accepted: {Reason}. They are sent again in {RetryAfter}; nothing is lost or counted twice (Polar keeps each external_id once).")]
    public static partial void UsageBatchNotAccepted(ILogger logger, int count, string reason, TimeSpan retryAfter);

    [LoggerMessage(2503, LogLevel.Debug, "Polar accepted {Count} usage events ({Inserted} new, {Duplicates} it already had).")]
    public static partial void UsageEventsSent(ILogger logger, int count, int inserted, int duplicates);

    [LoggerMessage(2504, LogLevel.Warning, "The usage sender could not use the database ({ErrorType}: {Message}); it tries again shortly.")]
    public static partial void UsageSenderStoreFailed(ILogger logger, string errorType, string message);

    [LoggerMessage(2505, LogLevel.Information, "Polar found the timestamp of usage event {ExternalId} in its future (its clock is behind this server's); sent again without a timestamp, so Polar stamps it.")]
    public static partial void UsageTimestampInPolarsFuture(ILogger logger, string externalId);

    [LoggerMessage(2506, LogLevel.Warning, "Reading meter {MeterId} for user {UserId} from Polar failed ({ErrorCode}).")]
    public static partial void MeterReadFailed(ILogger logger, string meterId, string userId, string errorCode);
}
