using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace KavachPolar.Diagnostics;

/// <summary>
/// KavachPolar's one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <c>KavachPolar</c>: add them to OpenTelemetry with <c>AddSource("KavachPolar")</c> and
/// <c>AddMeter("KavachPolar")</c>.
/// </summary>
internal static class KavachPolarTelemetry
{
    public const string Name = "KavachPolar";

    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Webhook deliveries by <c>outcome</c> (applied, stale, duplicate, ignored, ..., refused, unavailable).</summary>
    public static readonly Counter<long> Webhooks = Meter.CreateCounter<long>("kavach_polar.webhooks", "{delivery}", "Webhook deliveries received, by outcome.");

    /// <summary>OnSubscriptionChange runs by <c>result</c> (succeeded, failed).</summary>
    public static readonly Counter<long> Callbacks = Meter.CreateCounter<long>("kavach_polar.callbacks", "{call}", "OnSubscriptionChange invocations, by result.");

    /// <summary>Checkout requests by <c>result</c> (created or the problem code).</summary>
    public static readonly Counter<long> Checkouts = Meter.CreateCounter<long>("kavach_polar.checkouts", "{request}", "Checkout requests, by result.");

    public static void CountWebhook(string outcome) => Webhooks.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void CountCallback(bool succeeded) => Callbacks.Add(1, new KeyValuePair<string, object?>("result", succeeded ? "succeeded" : "failed"));

    public static void CountCheckout(string result) => Checkouts.Add(1, new KeyValuePair<string, object?>("result", result));
}
