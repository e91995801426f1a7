using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>
/// A tiny Kestrel server standing in for an application's webhook route. It records every request and answers
/// with whatever <see cref="Respond"/> decides (202 by default, as Polar's docs suggest).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
    }

    /// <summary>Decides the answer for a request: the n-th request (0-based) and the request itself.</summary>
    public Func<int, ReceivedWebhook, Task<int>> Respond { get; set; } = (_, _) => Task.FromResult(202);

    /// <summary>The webhook URL (path <c>/webhook</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The server root.</summary>
    public Uri Root { get; private set; } = null!;

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        var count = -1;
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var received = new ReceivedWebhook(context.Request.Path.Value ?? "/", headers, buffer.ToArray(), DateTimeOffset.UtcNow);
            receiver._received.Enqueue(received);
            var status = await receiver.Respond(Interlocked.Increment(ref count), received);
            context.Response.StatusCode = status;
            if (status is >= 300 and < 400)
            {
                context.Response.Headers.Location = "/redirected";
            }
        });
        await app.StartAsync(cancellationToken);
        receiver.Root = new Uri(app.Urls.First().TrimEnd('/') + "/");
        receiver.Url = new Uri(receiver.Root, "webhook");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
