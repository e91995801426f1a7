using System.Globalization;
using System.Runtime.InteropServices;
using KavachPolar.Testing;
using KavachPolar.Testing.Webhooks;

const string Help = """
    KavachPolar.Emulator: a local Polar (polar.sh) API, hosted checkout and webhook sender.

    Usage:
      dotnet run --project src/KavachPolar.Emulator -- [options]

    Options:
      --urls URL                 where to listen (default http://127.0.0.1:8787; port 0 picks a free one)
      --access-token TOKEN       the bearer token the API accepts (default polar_oat_emulator_...)
      --organization-id UUID     the organization id (a UUID version 4)
      --webhook-url URL          register a webhook endpoint that receives every event
      --webhook-secret SECRET    its secret (default: a new whsec_ secret, printed at start)
      --signing legacy|standard  how the secret becomes the HMAC key (default legacy: UTF-8 of the whole secret)
      --help                     show this text

    The API is at {base}v1/..., checkout pages at {base}checkout/{client_secret}.
    Controls (no token needed; keep the emulator on loopback):
    """;

var options = new PolarEmulatorOptions { Urls = "http://127.0.0.1:8787" };
string? webhookUrl = null, webhookSecret = null;
var signing = PolarWebhookSigningMode.Legacy;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--help" or "-h":
            Console.WriteLine(Help);
            Console.WriteLine(PolarEmulator.ControlRoutes);
            return 0;
        case "--urls":
            options.Urls = Next();
            break;
        case "--access-token":
            options.AccessToken = Next();
            break;
        case "--organization-id":
            options.OrganizationId = Next();
            break;
        case "--webhook-url":
            webhookUrl = Next();
            break;
        case "--webhook-secret":
            webhookSecret = Next();
            break;
        case "--signing":
            signing = Next() switch
            {
                "legacy" => PolarWebhookSigningMode.Legacy,
                "standard" => PolarWebhookSigningMode.Standard,
                var other => throw new ArgumentException($"--signing is legacy or standard, not {other}."),
            };
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]}. Try --help.");
            return 2;
    }
}

await using var emulator = await PolarEmulator.StartAsync(options);
Console.WriteLine($"Polar emulator listening at {emulator.BaseUrl}");
Console.WriteLine("In your app's configuration:");
Console.WriteLine($"  KavachPolar:ApiBaseUrl    {emulator.BaseUrl}");
Console.WriteLine($"  KavachPolar:AccessToken   {emulator.AccessToken}");
if (webhookUrl is null)
{
    Console.WriteLine("  KavachPolar:WebhookSecret (start with --webhook-url https://<your app>/api/kavach/auth/polar/webhook to get one)");
}

Console.WriteLine("Emulated Polar:");
Console.WriteLine($"  organization id  {emulator.OrganizationId}");
Console.WriteLine("  products:");
foreach (var p in emulator.Products)
{
    var trial = p.TrialInterval is null ? "" : $", {p.TrialIntervalCount} {p.TrialInterval} trial";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {p.Id}  {p.Name,-12} {p.PriceAmount / 100m:0.00} {p.Currency} {(p.IsRecurring ? "/ " + p.RecurringInterval : "one-time")}{trial}"));
}

if (webhookUrl is not null)
{
    var endpoint = emulator.AddWebhookEndpoint(new Uri(webhookUrl), webhookSecret, signing);
    Console.WriteLine($"  webhook endpoint {endpoint.Url} ({(signing == PolarWebhookSigningMode.Standard ? "standard" : "legacy")} signing)");
    Console.WriteLine($"  webhook secret   {endpoint.Secret}   (KavachPolar:WebhookSecret)");
}

Console.WriteLine("Press Ctrl+C to stop.");

// Ctrl+C, SIGTERM (docker stop, kill, a CI runner) and SIGQUIT all stop the emulator cleanly and exit 0.
var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
await stop.Task;
Console.WriteLine("Stopping.");
return 0;
