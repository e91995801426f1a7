using System.Net.Sockets;
using System.Text;

namespace KavachPolar.Tests.Infrastructure;

/// <summary>
/// Sends hand-written HTTP/1.1 requests over a socket: lying Content-Length, truncated bodies,
/// control characters in headers — things HttpClient refuses to send.
/// </summary>
public static class RawHttp
{
    /// <summary>Returns the response status code, or null when the server closed without answering.</summary>
    public static async Task<int?> SendAsync(Uri baseUrl, string head, byte[] body, bool halfClose = false, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseUrl.Host, baseUrl.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n"));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
        if (halfClose)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var buffer = new byte[4096];
        var received = new StringBuilder();
        try
        {
            while (!received.ToString().Contains("\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
        }

        var line = received.ToString().Split("\r\n")[0];
        var parts = line.Split(' ');
        return parts.Length >= 2 && line.StartsWith("HTTP/1.1", StringComparison.Ordinal) && int.TryParse(parts[1], out var status) ? status : null;
    }
}
