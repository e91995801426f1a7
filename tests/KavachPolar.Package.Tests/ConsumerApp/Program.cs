// A newcomer's app as the README shows it, plus a --smoke mode that proves both packages load and work:
// the packaged emulator serves its products, and the packaged endpoints answer without a database.
using System.Net.Http.Headers;
using KavachPolar;
using KavachPolar.Storage;
using KavachPolar.Testing;
using Microsoft.EntityFrameworkCore;

var smoke = args.Contains("--smoke");
await using var polar = smoke ? await PolarEmulator.StartAsync() : null;

var builder = WebApplication.CreateBuilder(args);
if (polar is not null)
{
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["KavachPolar:AccessToken"] = polar.AccessToken,
        ["KavachPolar:WebhookSecret"] = KavachPolar.Testing.Webhooks.PolarWebhookSigner.CreateStandardSecret(),
        ["KavachPolar:ApiBaseUrl"] = polar.BaseUrl.AbsoluteUri,
    });
}

builder.Services.AddDbContext<KavachPolarDbContext>(o => o.UseNpgsql(builder.Configuration.GetConnectionString("Kavach") ?? "Host=localhost;Database=app"));
builder.Services.AddKavachPolar(options => options.OnSubscriptionChange = (change, ct) =>
{
    Console.WriteLine($"{change.UserId}: {change.Previous?.Status ?? "none"} -> {change.Current?.Status ?? "none"}");
    return Task.CompletedTask;
});

var app = builder.Build();
app.MapKavachPolar();
app.MapGet("/me/subscription", (HttpContext context, IKavachPolarSubscriptions subscriptions) =>
    subscriptions.GetSubscriptionAsync(context.User.Identity?.Name ?? "", context.RequestAborted));

if (polar is null)
{
    await app.RunAsync();
    return 0;
}

await app.StartAsync();
using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
var subscription = await http.GetAsync(new Uri("/api/kavach/auth/polar/subscription", UriKind.Relative));
var webhook = await http.PostAsync(new Uri("/api/kavach/auth/polar/webhook", UriKind.Relative), new StringContent("{}"));
using var products = new HttpRequestMessage(HttpMethod.Get, new Uri(polar.BaseUrl, "v1/products/"));
products.Headers.Authorization = new AuthenticationHeaderValue("Bearer", polar.AccessToken);
var productList = await http.SendAsync(products);
await app.StopAsync();

Console.WriteLine($"subscription={(int)subscription.StatusCode} webhook={(int)webhook.StatusCode} products={(int)productList.StatusCode} emulator_products={polar.Products.Count}");
return subscription.StatusCode == System.Net.HttpStatusCode.Unauthorized
    && webhook.StatusCode == System.Net.HttpStatusCode.BadRequest
    && productList.IsSuccessStatusCode
    && polar.Products.Count > 0 ? 0 : 1;
