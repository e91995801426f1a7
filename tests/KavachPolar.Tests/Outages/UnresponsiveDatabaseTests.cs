using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KavachPolar.Tests.Infrastructure;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// A database host that accepts TCP connections and then says nothing (a hung server, a half-open
/// failover, a black-holing proxy), behind a connection string with production-like timeouts longer
/// than Polar's: the webhook must still answer 503 before Polar gives up on the attempt.
/// </summary>
[Collection(SerialTests.Name)] // timing-sensitive: never beside the parallel tests
public sealed class UnresponsiveDatabaseTests : IAsyncLifetime
{
    private static readonly TimeSpan PolarTimeoutBound = TimeSpan.FromSeconds(9.5);

    private readonly List<Socket> _accepted = [];
    private TcpListener _listener = null!;
    private Task _accepting = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptForeverAsync();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
        CloseAccepted();
    }

    [Fact]
    public async Task A_database_that_accepts_connections_but_never_answers_still_gets_503_inside_polars_timeout()
    {
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        await using var app = await KavachTestApp.StartAsync(
            $"Host=127.0.0.1;Port={port};Username=postgres;Database=kavach;Timeout=30;Command Timeout=30",
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:WebhookProcessingTimeout"] = "00:00:05" },
                CreateSchema = false,
            });
        var body = Compact(Example("subscription.created.json"));

        try
        {
            var clock = Stopwatch.StartNew();
            var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => app.PostWebhookAsync(body, ct: Ct)));
            var elapsed = clock.Elapsed;

            foreach (var response in responses)
            {
                await DatabaseDownTests.AssertStoreUnavailableAsync(response);
            }

            Assert.True(elapsed < PolarTimeoutBound, $"503 took {elapsed}, Polar would have timed out");
            lock (_accepted)
            {
                Assert.NotEmpty(_accepted);
            }
        }
        finally
        {
            // Let the abandoned connection attempts, and the dispatcher's (which hold up the app's
            // shutdown), fail fast.
            _listener.Stop();
            CloseAccepted();
        }
    }

    [Fact]
    public async Task Reading_a_subscription_from_a_database_that_never_answers_gets_503_within_the_budget()
    {
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        await using var app = await KavachTestApp.StartAsync(
            $"Host=127.0.0.1;Port={port};Username=postgres;Database=kavach;Timeout=30;Command Timeout=30",
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:WebhookProcessingTimeout"] = "00:00:03" },
                CreateSchema = false,
            });
        try
        {
            using var client = app.ClientFor("user-1");
            var clock = Stopwatch.StartNew();
            var response = await client.GetAsync("api/kavach/auth/polar/subscription", Ct);
            var elapsed = clock.Elapsed;

            await DatabaseDownTests.AssertStoreUnavailableAsync(response);
            Assert.True(elapsed < TimeSpan.FromSeconds(9), $"503 took {elapsed}, not the 3 s budget");
        }
        finally
        {
            _listener.Stop();
            CloseAccepted();
        }
    }

    private void CloseAccepted()
    {
        lock (_accepted)
        {
            foreach (var s in _accepted)
            {
                s.Dispose();
            }

            _accepted.Clear();
        }
    }

    private async Task AcceptForeverAsync()
    {
        while (true)
        {
            try
            {
                var socket = await _listener.AcceptSocketAsync();
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // Stopped (InvalidOperationException when Stop came between two accepts).
                return;
            }
        }
    }
}
