using KavachPolar.Billing;
using KavachPolar.Diagnostics;
using KavachPolar.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KavachPolar.Webhooks;

/// <summary>
/// Routes one verified, parsed delivery (<see cref="PolarWebhookEvent"/>) to the write it calls for in
/// <see cref="BillingStore"/>: a <c>subscription.*</c>, <c>benefit_grant.*</c> or <c>order.*</c> event of this organization is applied; anything else is only
/// recorded (ignored, another organization's, unprocessable with its raw text). Returns only after commit; database
/// failures propagate so that the endpoint answers 503 and Polar retries.
/// </summary>
internal sealed class WebhookProcessor(
    BillingStore billing,
    Benefits.CustomerStateTriggers stateTriggers,
    IOptionsMonitor<KavachPolarOptions> options,
    ILogger<WebhookProcessor> logger)
{
    /// <summary>Applies or records <paramref name="e"/>, waiting for the database at most <paramref name="budget"/>.</summary>
    public async Task<string> ProcessAsync(PolarWebhookEvent e, TimeSpan budget, CancellationToken ct)
    {
        string outcome;
        if (e.Error is not null)
        {
            Log.WebhookUnprocessable(logger, e.WebhookId, e.Type ?? "?", e.Error);
            outcome = await billing.RecordDeliveryAsync(e.WebhookId, e.Type ?? "", WebhookOutcomes.Unprocessable, e.Payload, e.Error, budget, ct).ConfigureAwait(false);
        }
        else if (e.Subscription is { } subscription)
        {
            var organizationId = options.CurrentValue.OrganizationId;
            outcome = !string.IsNullOrEmpty(organizationId)
                      && subscription.Customer?.OrganizationId is { } eventOrganization
                      && !string.Equals(eventOrganization, organizationId, StringComparison.OrdinalIgnoreCase)
                ? await billing.RecordDeliveryAsync(e.WebhookId, e.Type!, WebhookOutcomes.OtherOrganization, null, null, budget, ct).ConfigureAwait(false)
                : await billing.ApplyDeliveryAsync(e.WebhookId, e.Type!, subscription, e.TimestampUs, budget, ct).ConfigureAwait(false);
        }
        else if (e.Grant is { } grant)
        {
            var organizationId = options.CurrentValue.OrganizationId;
            outcome = !string.IsNullOrEmpty(organizationId)
                      && grant.Customer?.OrganizationId is { } eventOrganization
                      && !string.Equals(eventOrganization, organizationId, StringComparison.OrdinalIgnoreCase)
                ? await billing.RecordDeliveryAsync(e.WebhookId, e.Type!, WebhookOutcomes.OtherOrganization, null, null, budget, ct).ConfigureAwait(false)
                : await billing.ApplyGrantDeliveryAsync(e.WebhookId, e.Type!, grant, e.TimestampUs, budget, ct).ConfigureAwait(false);
        }
        else if (e.Order is { } order)
        {
            var organizationId = options.CurrentValue.OrganizationId;
            outcome = !string.IsNullOrEmpty(organizationId)
                      && order.Customer?.OrganizationId is { } eventOrganization
                      && !string.Equals(eventOrganization, organizationId, StringComparison.OrdinalIgnoreCase)
                ? await billing.RecordDeliveryAsync(e.WebhookId, e.Type!, WebhookOutcomes.OtherOrganization, null, null, budget, ct).ConfigureAwait(false)
                : await billing.ApplyOrderDeliveryAsync(e.WebhookId, e.Type!, order, e.TimestampUs, budget, ct).ConfigureAwait(false);
        }
        else if (e.CustomerState is { } state)
        {
            var organizationId = options.CurrentValue.OrganizationId;
            var other = !string.IsNullOrEmpty(organizationId) && state.OrganizationId is { } eventOrganization
                        && !string.Equals(eventOrganization, organizationId, StringComparison.OrdinalIgnoreCase);
            outcome = await billing.RecordDeliveryAsync(e.WebhookId, e.Type!, other ? WebhookOutcomes.OtherOrganization : WebhookOutcomes.Ignored, null, null, budget, ct).ConfigureAwait(false);
            if (outcome == WebhookOutcomes.Ignored)
            {
                // Only a trigger: compared with the stored grants after the answer, and reconciled when they differ.
                stateTriggers.Add(state.Id, [.. (state.GrantedBenefits ?? []).Select(g => g.BenefitId)]);
            }
        }
        else
        {
            outcome = await billing.RecordDeliveryAsync(e.WebhookId, e.Type!, WebhookOutcomes.Ignored, null, null, budget, ct).ConfigureAwait(false);
        }

        Log.WebhookProcessed(logger, e.WebhookId, e.Type ?? "?", outcome);
        return outcome;
    }
}
