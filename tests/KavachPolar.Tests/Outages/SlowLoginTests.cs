using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KavachPolar.Tests.Infrastructure;
using Npgsql;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// A database that accepts logins only after the request's budget: the requests answer 503, and the
/// connections whose open was given up on go back to the pool once they finish opening, so the app
/// recovers when the database does instead of running out of connections.
/// </summary>
[Collection(SerialTests.Name)] // timing-sensitive: never beside the parallel tests
public sealed class SlowLoginTests : DatabaseTest
{
    [Fact]
    public async Task Connections_given_up_on_while_opening_are_returned_to_the_pool()
    {
        var target = new NpgsqlConnectionStringBuilder(Db.ConnectionString);
        await using var proxy = new DelayingTcpProxy(target.Host!, target.Port) { ConnectDelay = TimeSpan.FromSeconds(3) };
        var viaProxy = new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Port = proxy.Port, MaxPoolSize = 2, Timeout = 15 }.ConnectionString;

        proxy.ConnectDelay = TimeSpan.Zero;
        await using var app = await KavachTestApp.StartAsync(
            viaProxy,
            new()
            {
                Settings = new Dictionary<string, string?> { ["KavachPolar:WebhookProcessingTimeout"] = "00:00:01", ["KavachPolar:DatabaseTimeout"] = "00:00:01" },
                Configure = o => o.OnSubscriptionChange = null,
            });
        NpgsqlConnection.ClearAllPools();

        proxy.ConnectDelay = TimeSpan.FromSeconds(3);
        using var client = app.ClientFor("user-1");
        var slow = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.GetAsync("api/kavach/auth/polar/subscription", Ct)));
        Assert.All(slow, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));

        // The abandoned opens complete after the delay; then the database is quick again.
        proxy.ConnectDelay = TimeSpan.Zero;
        await Wait.UntilAsync(() => Task.FromResult(proxy.DelayedConnects == 0), TimeSpan.FromSeconds(30), "the delayed logins reach the database");
        for (var i = 0; i < 3; i++)
        {
            var response = await client.GetAsync("api/kavach/auth/polar/subscription", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!.ContainsKey("subscription"));
        }
    }
}
