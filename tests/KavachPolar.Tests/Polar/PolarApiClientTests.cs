using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using KavachPolar.Polar;
using Microsoft.Extensions.Time.Testing;

namespace KavachPolar.Tests.Polar;

public sealed class PolarApiClientTests
{
    [Theory]
    [InlineData("usr_1337", "usr_1337")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData(".", "%2E")]
    [InlineData("..", "%2E%2E")]
    [InlineData("a.b", "a.b")]
    [InlineData("é", "%C3%A9")]
    public void Path_segments_are_escaped_so_they_cannot_change_the_route(string value, string expected)
    {
        Assert.Equal(expected, PolarApiClient.PathSegment(value));
    }

    [Theory]
    [InlineData("""["body","CheckoutProductsCreate","products",0]""", "products[0]")]
    [InlineData("""["body","products"]""", "products")]
    [InlineData("""["body","customer","email"]""", "customer.email")]
    [InlineData("""["query","limit"]""", "limit")]
    [InlineData("""["body","individual","email"]""", "email")]
    [InlineData("""["body","team","owner","email"]""", "owner.email")]
    [InlineData("""["body","metadata","individual"]""", "metadata.individual")]
    [InlineData("[]", "")]
    public void Polar_validation_locations_become_field_paths(string loc, string expected)
    {
        Assert.Equal(expected, PolarApiClient.FieldPath(JsonSerializer.Deserialize<JsonElement[]>(loc)));
    }

    [Fact]
    public void A_retry_after_date_counts_from_the_instances_clock()
    {
        // Far from the machine's clock, so that an answer measured against it could not pass.
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 3, 4, 5, 6, 0, TimeSpan.Zero));
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(time.GetUtcNow().AddSeconds(40));

        Assert.Equal(TimeSpan.FromSeconds(40), PolarApiClient.RetryAfter(response, time));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TimeSpan.Zero, PolarApiClient.RetryAfter(response, time));
    }

    [Fact]
    public void A_list_without_a_total_count_reads_its_pages()
    {
        // KavachPolar pages by max_page alone; a field it never reads must not be able to fail a reconcile.
        var list = JsonSerializer.Deserialize("""{"items":[],"pagination":{"max_page":3}}""", PolarJsonContext.Default.PolarSubscriptionList);

        Assert.Equal(3, list!.Pagination.MaxPage);
    }
}
