using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text;
using KavachPolar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KavachPolar.Tests.Hostile;

/// <summary>
/// Anonymous clients claim the largest allowed webhook body and then send it slowly (or never): the memory they
/// pin must grow with the bytes they send, not with what Content-Length claims.
/// </summary>
[Collection(SerialTests.Name)]
public sealed class SlowSenderMemoryTests : AppTest
{
    private const int Senders = 300;
    private const int ClaimedBytes = 256 * 1024;

    [Fact]
    public async Task Many_slow_senders_claiming_the_maximum_body_pin_little_memory()
    {
        using var active = new MetricCollector<long>(App.Services.GetRequiredService<IMeterFactory>(), "Microsoft.AspNetCore.Hosting", "http.server.active_requests");
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var clients = new List<TcpClient>();
        try
        {
            var head = Encoding.ASCII.GetBytes(
                $"POST /api/kavach/auth/polar/webhook HTTP/1.1\r\nHost: {App.BaseUrl.Authority}\r\nContent-Type: application/json\r\n" +
                $"Content-Length: {ClaimedBytes}\r\nwebhook-id: slow\r\nwebhook-timestamp: 1700000000\r\nwebhook-signature: v1,AAAA\r\n\r\n{{\"type\":\"subscr");
            for (var i = 0; i < Senders; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                await client.ConnectAsync(App.BaseUrl.Host, App.BaseUrl.Port, Ct);
                await client.GetStream().WriteAsync(head, Ct);
            }

            // Every request in the pipeline, each waiting for the rest of its body.
            await Wait.UntilAsync(
                () => Task.FromResult(active.GetMeasurementSnapshot().Sum(m => m.Value) == Senders),
                because: $"all {Senders} requests are being served",
                describe: () => Task.FromResult($"{active.GetMeasurementSnapshot().Sum(m => m.Value)} active"));
            var held = GC.GetTotalMemory(forceFullCollection: true) - before;

            // Buffers sized by Content-Length would hold Senders × 256 KiB = 75 MiB here.
            Assert.True(held < Senders * (long)ClaimedBytes / 4, $"{Senders} slow senders hold {held / (1024 * 1024)} MiB");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
