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
    /// While set, every connection whose start-up message names this application (PostgreSQL's <c>application_name</c>)
    /// hangs: a new one gets no answer to its login, as from a server that accepts and then stalls, and one already
    /// logged in goes silent both ways. Connections of other applications go through.
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
            var connection = new Connection();
            await Task.WhenAny(
                ClientToServerAsync(client.GetStream(), server.GetStream(), connection),
                ServerToClientAsync(server.GetStream(), client.GetStream(), connection));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    /// <summary>
    /// Copies the client's bytes on. Remembers the application its start-up message names, and from the moment
    /// <see cref="HangApplication"/> names it holds the bytes for good, both ways: a login then gets no answer, and
    /// a connection already logged in goes silent (a black hole: no error, no reset).
    /// </summary>
    private async Task ClientToServerAsync(Stream from, Stream to, Connection connection)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            // The start-up message is the first one with text in it (an SSL request before it has none): its
            // parameters are NUL-terminated names and values.
            if (connection.Application is null && System.Text.Encoding.UTF8.GetString(buffer, 0, read) is var text && text.Contains("user\0", StringComparison.Ordinal))
            {
                var fields = text.Split('\0');
                var at = Array.IndexOf(fields, "application_name");
                connection.Application = at >= 0 && at + 1 < fields.Length ? fields[at + 1] : "";
            }

            await HoldIfHungAsync(connection);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    private async Task ServerToClientAsync(Stream from, Stream to, Connection connection)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            await HoldIfHungAsync(connection);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    private async Task HoldIfHungAsync(Connection connection)
    {
        if (HangApplication is { } name && connection.Application == name)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
    }

    /// <summary>What the proxy knows of one client connection.</summary>
    private sealed class Connection
    {
        public volatile string? Application;
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
