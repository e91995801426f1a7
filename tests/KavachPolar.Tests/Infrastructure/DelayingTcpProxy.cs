using System.Net;
using System.Net.Sockets;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// A TCP proxy in front of PostgreSQL that holds each new connection for <see cref="ConnectDelay"/>
/// before connecting it through: a server that answers logins late (a saturated database, a queueing
/// connection pooler).
/// </summary>
public sealed class DelayingTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;

    public DelayingTcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public TimeSpan ConnectDelay { get; set; }

    /// <summary>
    /// While set, a connection whose start-up message names this application (PostgreSQL's <c>application_name</c>)
    /// is left hanging: the client gets no answer to its login, as from a server that accepts and then stalls.
    /// Connections already logged in, and those of other applications, go through.
    /// </summary>
    public string? HangApplication { get; set; }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_clients)
                {
                    _clients.Add(client);
                }

                _ = ForwardAsync(client, ConnectDelay);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            // Stopped (InvalidOperationException when Stop came between two accepts).
        }
    }

    private async Task ForwardAsync(TcpClient client, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _stop.Token);
            var server = new TcpClient();
            lock (_clients)
            {
                _clients.Add(server);
            }

            await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            await Task.WhenAny(
                ClientToServerAsync(client.GetStream(), server.GetStream()),
                server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    /// <summary>Copies the client's bytes on, holding them for good once its start-up names <see cref="HangApplication"/>.</summary>
    private async Task ClientToServerAsync(Stream from, Stream to)
    {
        var buffer = new byte[16 * 1024];
        var loggingIn = true;
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (loggingIn && HangApplication is { } name)
            {
                // The start-up message is the first one with text in it (an SSL request before it has none).
                var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
                if (text.Contains(name, StringComparison.Ordinal))
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }

                loggingIn = !text.Contains("user", StringComparison.Ordinal);
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_clients)
        {
            foreach (var c in _clients)
            {
                c.Dispose();
            }
        }

        _stop.Dispose();
    }
}
