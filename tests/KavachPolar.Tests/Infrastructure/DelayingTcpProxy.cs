using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

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
    /// hangs for good: a new one gets no answer to its login, as from a server that accepts and then stalls, and one
    /// already logged in goes silent both ways. Connections of other applications go through.
    /// </summary>
    public string? HangApplication { get; set; }

    /// <summary>
    /// While set, a connection whose start-up message named this application, one already logged in included, passes no
    /// bytes either way and stays open: a connection that died silently (a partition, a NAT or a pooler that dropped it
    /// without telling either end). What it held goes through once this is cleared.
    /// </summary>
    public string? BlackHoleApplication { get; set; }

    private int _delayedConnects;
    private int _heldFromClients;

    /// <summary>
    /// How many reads from a client <see cref="BlackHoleApplication"/> has held so far (a command the client sent into the
    /// silence).
    /// </summary>
    public int HeldFromClients => Volatile.Read(ref _heldFromClients);

    /// <summary>Connections accepted whose <see cref="ConnectDelay"/> has not run out yet (not yet forwarded).</summary>
    public int DelayedConnects => Volatile.Read(ref _delayedConnects);

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

                Interlocked.Increment(ref _delayedConnects);
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
            try
            {
                await Task.Delay(delay, _stop.Token);
            }
            finally
            {
                Interlocked.Decrement(ref _delayedConnects);
            }

            var server = new TcpClient();
            lock (_clients)
            {
                _clients.Add(server);
            }

            await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            var application = new StrongBox<string?>();
            await Task.WhenAny(
                ClientToServerAsync(client.GetStream(), server.GetStream(), application),
                ServerToClientAsync(server.GetStream(), client.GetStream(), application));
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
    private async Task ClientToServerAsync(Stream from, Stream to, StrongBox<string?> application)
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

            application.Value ??= ApplicationName(buffer.AsSpan(0, read));
            if (application.Value is { } held && BlackHoleApplication == held)
            {
                Interlocked.Increment(ref _heldFromClients);
            }

            await HoldWhileBlackHoledAsync(application);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    private async Task ServerToClientAsync(Stream from, Stream to, StrongBox<string?> application)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            await HoldWhileBlackHoledAsync(application);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    /// <summary>The <c>application_name</c> a start-up message in <paramref name="bytes"/> carries, if any.</summary>
    private static string? ApplicationName(ReadOnlySpan<byte> bytes)
    {
        var at = bytes.IndexOf("application_name\0"u8);
        if (at < 0)
        {
            return null;
        }

        var value = bytes[(at + "application_name\0"u8.Length)..];
        return System.Text.Encoding.UTF8.GetString(value[..value.IndexOf((byte)0)]);
    }

    private async Task HoldWhileBlackHoledAsync(StrongBox<string?> application)
    {
        if (application.Value is { } hung && HangApplication == hung)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }

        while (application.Value is { } name && BlackHoleApplication == name)
        {
            await Task.Delay(20, _stop.Token);
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
