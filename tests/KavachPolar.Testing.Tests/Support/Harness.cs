using System.Text.Json.Nodes;
using KavachPolar.Testing.Webhooks;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>An emulator with fast retries, a webhook receiver registered as an endpoint, and an API client.</summary>
public sealed class Harness : IAsyncDisposable
{
    private Harness(PolarEmulator emulator, WebhookReceiver receiver, EmulatorWebhookEndpoint endpoint)
    {
        Emulator = emulator;
        Receiver = receiver;
        Endpoint = endpoint;
        Http = new PolarHttp(emulator);
    }

    public PolarEmulator Emulator { get; }

    public WebhookReceiver Receiver { get; }

    public EmulatorWebhookEndpoint Endpoint { get; }

    public PolarHttp Http { get; }

    public EmulatorProduct Pro => Emulator.Products.Single(p => p.Name == "Pro");

    public EmulatorProduct Team => Emulator.Products.Single(p => p.Name == "Team");

    public EmulatorProduct Trial => Emulator.Products.Single(p => p.TrialInterval is not null);

    public static async Task<Harness> StartAsync(Action<PolarEmulatorOptions>? configure = null, PolarWebhookSigningMode mode = PolarWebhookSigningMode.Legacy, string? secret = null, IEnumerable<string>? events = null)
    {
        var options = new PolarEmulatorOptions { WebhookTimeout = TimeSpan.FromSeconds(2) };
        options.WebhookRetryDelays.Clear();
        options.WebhookRetryDelays.Add(TimeSpan.FromMilliseconds(20));
        configure?.Invoke(options);
        var emulator = await PolarEmulator.StartAsync(options, TestContext.Current.CancellationToken);
        var receiver = await WebhookReceiver.StartAsync(TestContext.Current.CancellationToken);
        var endpoint = emulator.AddWebhookEndpoint(receiver.Url, secret, mode, events);
        return new Harness(emulator, receiver, endpoint);
    }

    /// <summary>Creates a checkout through the API (201) and returns its JSON.</summary>
    public async Task<JsonObject> CreateCheckoutAsync(JsonObject? fields = null, string? productId = null)
    {
        var body = fields ?? [];
        body["products"] ??= new JsonArray(productId ?? Pro.Id);
        var response = await Http.PostAsync("v1/checkouts/", body.ToJsonString());
        Assert.True(response.Status == 201, response.Body);
        return response.Json.AsObject();
    }

    /// <summary>Creates and pays a checkout; waits for its webhooks.</summary>
    public async Task<EmulatorPaymentResult> SubscribeAsync(string email = "jane.doe@gmail.com", JsonObject? fields = null, string? productId = null)
    {
        var checkout = await CreateCheckoutAsync(fields, productId);
        var result = await Emulator.PayCheckoutAsync(checkout["id"]!.GetValue<string>(), email, "Jane Doe", TestContext.Current.CancellationToken);
        await Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);
        return result;
    }

    /// <summary>The types received, in arrival order, from the <paramref name="skip"/>-th request on.</summary>
    public List<string> ReceivedTypes(int skip = 0) => Receiver.Received.Skip(skip).Select(r => r.Type).ToList();

    /// <summary>
    /// Stops everything, then checks the webhook bodies received and the JSON responses read against
    /// <c>openapi-subset.json</c>, so each scenario in the suite is also a schema conformance check. To keep the suite
    /// fast on two cores, two samples per event type and per response schema are checked here;
    /// <c>SchemaConformanceTests</c> checks every payload of its full scenario.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
        await Receiver.DisposeAsync();
        var schemas = OpenApiSchemas.Instance;
        var problems = new List<string>();
        foreach (var webhook in Receiver.Received.GroupBy(r => r.Type).SelectMany(g => g.Take(2)))
        {
            problems.AddRange(schemas.Validate(schemas.WebhookComponent(webhook.Type), webhook.BodyText).Take(3).Select(e => $"webhook {webhook.Type}: {e}"));
        }

        var sampled = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (path, method, status, body) in Http.Responses)
        {
            if (SchemaPaths.ResponseComponent(path, method, status) is { } component && (sampled[component] = sampled.GetValueOrDefault(component) + 1) <= 2)
            {
                problems.AddRange(schemas.Validate(component, body).Take(3).Select(e => $"{method} {path} -> {status}: {e}"));
            }
        }

        Assert.True(problems.Count == 0, "Payloads that do not match openapi-subset.json:\n" + string.Join("\n", problems.Take(20)));
    }
}
