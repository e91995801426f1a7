using System.Net.Sockets;
using System.Text;

namespace KavachPolar.Testing.Tests.Support;

/// <summary>
/// Sends one hand-written HTTP/1.1 request over a socket and reads its answer (the request asks for
/// <c>Connection: close</c>): for framings HttpClient never sends, such as a POST with neither <c>Content-Length</c>
/// nor <c>Transfer-Encoding</c>, or a declared length whose body never comes.
/// </summary>
public static class RawSocket
{
    /// <param name="baseUrl">The server.</param>
    /// <param name="requestLine">e.g. <c>POST /v1/checkouts/</c>.</param>
    /// <param name="headers">Header lines without the line break; <c>Host</c> and <c>Connection: close</c> are added.</param>
    /// <param name="content">Bytes written after the head, as they are.</param>
    public static async Task<PolarResponse> SendAsync(Uri baseUrl, string requestLine, IEnumerable<string> headers, byte[]? content = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseUrl.Host, baseUrl.Port, TestContext.Current.CancellationToken);
        var stream = client.GetStream();
        var head = new StringBuilder(requestLine).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(baseUrl.Authority).Append("\r\n")
            .Append("Connection: close\r\n");
        foreach (var header in headers)
        {
            head.Append(header).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()), TestContext.Current.CancellationToken);
        if (content is not null)
        {
            await stream.WriteAsync(content, TestContext.Current.CancellationToken);
        }

        await stream.FlushAsync(TestContext.Current.CancellationToken);

        // Read the head, then exactly Content-Length bytes: a server that did not read a declared body may hold the
        // connection open for seconds to drain it before closing.
        var received = new List<byte>();
        var buffer = new byte[8192];
        int split;
        while ((split = IndexOfBlankLine(received)) < 0)
        {
            var n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
            Assert.True(n > 0, "No HTTP answer: " + Encoding.UTF8.GetString([.. received]));
            received.AddRange(buffer.AsSpan(0, n));
        }

        var text = Encoding.Latin1.GetString([.. received], 0, split);
        var length = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)) is { } lengthLine
            ? int.Parse(lengthLine[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        while (received.Count < split + 4 + length)
        {
            var n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
            Assert.True(n > 0, "The answer ended early: " + Encoding.UTF8.GetString([.. received]));
            received.AddRange(buffer.AsSpan(0, n));
        }

        var body = Encoding.UTF8.GetString([.. received], split + 4, length);
        var lines = text.Split("\r\n");
        var parsed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon].ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            parsed[name] = parsed.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }

        return new PolarResponse(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body, parsed);
    }

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
