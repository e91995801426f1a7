using System.Text.Json.Nodes;
using KavachPolar.Testing.Json;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Json;

/// <summary>
/// Polar serializes with pydantic's <c>model_dump_json</c>: compact, nulls written, non-ASCII raw, datetimes in UTC with <c>Z</c>
/// and six fraction digits (none when the microsecond is 0).
/// </summary>
public sealed class PolarJsonTests
{
    [Theory]
    [InlineData(801224, "2026-10-01T09:16:48.801224Z")]
    [InlineData(0, "2026-10-01T09:16:48Z")]
    [InlineData(1, "2026-10-01T09:16:48.000001Z")]
    public void Datetimes_are_utc_with_z_and_six_fraction_digits_dropped_only_when_zero(int microseconds, string expected)
    {
        var instant = new DateTimeOffset(2026, 10, 1, 9, 16, 48, TimeSpan.Zero).AddTicks(microseconds * 10L);

        Assert.Equal(expected, PolarJson.FormatDate(instant));
    }

    [Fact]
    public void Datetimes_in_other_offsets_are_converted_to_utc()
    {
        Assert.Equal("2026-10-01T07:16:48.500000Z", PolarJson.FormatDate(new DateTimeOffset(2026, 10, 1, 9, 16, 48, 500, TimeSpan.FromHours(2))));
    }

    [Fact]
    public void Output_is_compact_keeps_nulls_and_writes_non_ascii_raw()
    {
        var json = PolarJson.Serialize(new JsonObject { ["name"] = "Ünïcode café <b>&", ["gone"] = null, ["n"] = 1 });

        Assert.Equal("{\"name\":\"Ünïcode café <b>&\",\"gone\":null,\"n\":1}", json);
    }

    [Fact]
    public async Task Webhook_bodies_carry_non_ascii_names_unescaped()
    {
        await using var h = await Harness.StartAsync(events: ["customer.created"]);

        h.Emulator.CreateCustomer("zoe@gmail.com", "Zoë Ñúñez");
        await h.Emulator.WaitForDeliveriesAsync(TestContext.Current.CancellationToken);

        Assert.Contains("\"name\":\"Zoë Ñúñez\"", Assert.Single(h.Receiver.Received).BodyText, StringComparison.Ordinal);
    }
}
