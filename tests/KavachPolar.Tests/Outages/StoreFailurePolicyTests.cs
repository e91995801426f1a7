using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using KavachPolar.Tests.Endpoints;
using KavachPolar.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using static KavachPolar.Tests.Infrastructure.PolarPayloads;

namespace KavachPolar.Tests.Outages;

/// <summary>
/// Only what means "the database is unreachable or slow" is answered 503; anything else is a bug, answered 500 and
/// logged as an error, so that it never reads as an outage. The failures come from an EF Core interceptor in the
/// host's DbContext configuration, as a host's own interceptor or provider would raise them.
/// </summary>
public sealed class StoreFailurePolicyTests : DatabaseTest
{
    public static TheoryData<string, HttpStatusCode> Failures() => new()
    {
        { "driver", HttpStatusCode.ServiceUnavailable },
        { "timeout", HttpStatusCode.ServiceUnavailable },
        { "bug", HttpStatusCode.InternalServerError },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Every_route_answers_503_only_for_a_store_failure(string failure, HttpStatusCode expected)
    {
        var interceptor = new FailingInterceptor();
        await using var app = await KavachTestApp.StartAsync(Db.ConnectionString, new() { Database = o => o.UseNpgsql(Db.ConnectionString).AddInterceptors(interceptor) });
        interceptor.Failure = failure switch
        {
            "driver" => () => new Npgsql.NpgsqlException("simulated: the connection was reset"),
            "timeout" => () => new TimeoutException("simulated: the command timed out"),
            _ => () => new InvalidOperationException("simulated: a bug in the host's model"),
        };

        using var client = app.ClientFor("user-1", "ada.lovelace@gmail.com");
        var responses = new[]
        {
            await app.PostWebhookAsync(Compact(Example("subscription.created.json")), ct: Ct),
            await client.GetAsync("api/kavach/auth/polar/subscription", Ct),
            await client.PostAsJsonAsync("api/kavach/auth/polar/checkout", new { productId = "d8dd2de1-21b7-4a41-8bc3-ce909c0cfe23" }, Ct),
            await client.PostAsync("api/kavach/auth/polar/reconcile", null, Ct),
        };

        foreach (var response in responses)
        {
            if (expected == HttpStatusCode.ServiceUnavailable)
            {
                var problem = await CheckoutEndpointTests.AssertProblemAsync(response, expected, "store_unavailable");
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Equal("store_unavailable", (string?)problem["code"]);
            }
            else
            {
                Assert.True(response.StatusCode == expected, $"{response.RequestMessage!.RequestUri}: {response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            }
        }

        if (expected == HttpStatusCode.InternalServerError)
        {
            Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("[4001]", StringComparison.Ordinal) || l.Contains("[2003]", StringComparison.Ordinal));
        }
    }

    private sealed class FailingInterceptor : DbCommandInterceptor
    {
        public Func<Exception>? Failure { get; set; }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
            Failure is { } f ? throw f() : base.ReaderExecutingAsync(command, eventData, result, cancellationToken);

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
            Failure is { } f ? throw f() : base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
            Failure is { } f ? throw f() : base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
    }
}
