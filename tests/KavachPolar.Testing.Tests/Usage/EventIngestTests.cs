using System.Text.Json.Nodes;
using KavachPolar.Testing.Tests.Support;

namespace KavachPolar.Testing.Tests.Usage;

/// <summary>
/// <c>POST /v1/events/ingest</c> as Polar's <c>event/service.py ingest</c> and <c>event/repository.py insert_batch</c>
/// behave: a permanent deduplication on <c>external_id</c> (across batches and inside one, whatever the payload), and
/// all-or-nothing validation (one bad event refuses the batch, every error listed, nothing stored).
/// </summary>
public sealed class EventIngestTests
{
    [Fact]
    public async Task A_batch_is_stored_and_answered_with_the_inserted_and_duplicate_counts()
    {
        await using var h = await Harness.StartAsync();
        var customer = h.Emulator.CreateCustomer("jane.doe@gmail.com", externalId: "usr_1");

        var response = await h.IngestOkAsync(
            Usage.Summary("usr_1", 120, "evt_1"),
            new JsonObject { ["name"] = "api.call", ["customer_id"] = customer.Id, ["timestamp"] = "2020-01-01T00:00:00Z" });

        Assert.Equal("{\"inserted\":2,\"duplicates\":0}", response.ToJsonString());
        var stored = h.Emulator.IngestedEvents;
        Assert.Equal(["ai.summary", "api.call"], stored.Select(e => e.Name));
        Assert.Equal("usr_1", stored[0].ExternalCustomerId);
        Assert.Equal("evt_1", stored[0].ExternalId);
        Assert.Equal("{\"tokens\":120}", stored[0].Metadata);
        Assert.Equal(customer.Id, stored[1].CustomerId);
        Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), stored[1].Timestamp);
        // No timestamp means now, on the emulator's clock.
        Assert.Equal(stored[0].IngestedAt, stored[0].Timestamp);
    }

    [Fact]
    public async Task Lengths_count_code_points_as_pythons_len_does()
    {
        await using var h = await Harness.StartAsync();
        var emoji = "\U0001F600"; // two UTF-16 units, one character for pydantic
        var fits = new JsonObject
        {
            ["name"] = string.Concat(Enumerable.Repeat(emoji, 128)),
            ["external_customer_id"] = "usr_1",
            ["metadata"] = new JsonObject { ["note"] = string.Concat(Enumerable.Repeat(emoji, 500)) },
        };
        await h.IngestOkAsync(fits);

        var tooLong = (JsonObject)fits.DeepClone();
        tooLong["name"] = string.Concat(Enumerable.Repeat(emoji, 129));
        var refused = await h.IngestAsync(tooLong);
        Assert.Equal(422, refused.Status);
        Assert.Contains("\"string_too_long\"", refused.Body, StringComparison.Ordinal);
        Assert.Single(h.Emulator.IngestedEvents);
    }

    [Fact]
    public async Task An_external_id_is_deduplicated_forever_whatever_the_payload()
    {
        await using var h = await Harness.StartAsync();
        await h.IngestOkAsync(Usage.Summary("usr_1", 5, "evt_1"));
        await h.AdvanceAsync(TimeSpan.FromDays(400));

        var again = await h.IngestOkAsync(Usage.Summary("usr_2", 999, "evt_1"), Usage.Summary("usr_1", 7, "evt_2"));

        Assert.Equal("{\"inserted\":1,\"duplicates\":1}", again.ToJsonString());
        Assert.Equal([("evt_1", "{\"tokens\":5}"), ("evt_2", "{\"tokens\":7}")], h.Emulator.IngestedEvents.Select(e => (e.ExternalId, e.Metadata)));
    }

    [Fact]
    public async Task The_same_external_id_twice_in_one_batch_is_stored_once()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.IngestOkAsync(Usage.Summary("usr_1", 5, "evt_1"), Usage.Summary("usr_1", 6, "evt_1"));

        Assert.Equal("{\"inserted\":1,\"duplicates\":1}", response.ToJsonString());
        Assert.Equal("{\"tokens\":5}", Assert.Single(h.Emulator.IngestedEvents).Metadata);
    }

    [Fact]
    public async Task Events_without_an_external_id_are_never_deduplicated()
    {
        await using var h = await Harness.StartAsync();

        await h.IngestOkAsync(Usage.Summary("usr_1", 5));
        var response = await h.IngestOkAsync(Usage.Summary("usr_1", 5), Usage.Summary("usr_1", 5));

        Assert.Equal("{\"inserted\":2,\"duplicates\":0}", response.ToJsonString());
        Assert.Equal(3, h.Emulator.IngestedEvents.Count);
    }

    [Fact]
    public async Task An_unknown_external_customer_id_is_accepted()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.IngestOkAsync(Usage.Summary("nobody_yet", 5));

        Assert.Equal(1, (int)response["inserted"]!);
        Assert.Empty(h.Emulator.Customers);
    }

    [Fact]
    public async Task One_invalid_event_refuses_the_whole_batch_with_every_members_errors_and_stores_nothing()
    {
        await using var h = await Harness.StartAsync();
        var tooLong = new string('n', 129);

        var response = await h.IngestAsync(
            Usage.Summary("usr_1", 5, "evt_ok"),
            new JsonObject { ["name"] = tooLong, ["external_customer_id"] = "usr_1" },
            new JsonObject { ["name"] = "ai.summary", ["external_customer_id"] = "usr_1", ["timestamp"] = "2026-01-01T10:00:00" });

        Assert.Equal(422, response.Status);
        Assert.Equal("RequestValidationError", response["error"]);
        var detail = Usage.Detail(response)!.AsArray();
        Assert.Equal(
        [
            ("[\"body\",\"events\",1,\"EventCreateCustomer\",\"name\"]", "string_too_long", "String should have at most 128 characters"),
            ("[\"body\",\"events\",1,\"EventCreateCustomer\",\"customer_id\"]", "missing", "Field required"),
            ("[\"body\",\"events\",1,\"EventCreateExternalCustomer\",\"name\"]", "string_too_long", "String should have at most 128 characters"),
            ("[\"body\",\"events\",2,\"EventCreateCustomer\",\"timestamp\"]", "timezone_aware", "Input should have timezone info"),
            ("[\"body\",\"events\",2,\"EventCreateCustomer\",\"customer_id\"]", "missing", "Field required"),
            ("[\"body\",\"events\",2,\"EventCreateExternalCustomer\",\"timestamp\"]", "timezone_aware", "Input should have timezone info"),
        ], detail.Select(d => (d!["loc"]!.ToJsonString(), (string)d["type"]!, (string)d["msg"]!)));
        Assert.Equal(128, (int)detail[0]!["ctx"]!["max_length"]!);
        Assert.Empty(h.Emulator.IngestedEvents);

        // Nothing was stored, so the valid event's external id is still free.
        Assert.Equal(1, (int)(await h.IngestOkAsync(Usage.Summary("usr_1", 5, "evt_ok")))["inserted"]!);
    }

    [Fact]
    public async Task A_timestamp_after_the_emulators_clock_is_a_value_error()
    {
        await using var h = await Harness.StartAsync();
        var future = h.Emulator.UtcNow.AddMinutes(1).ToString("O");
        var past = h.Emulator.UtcNow.AddMinutes(-1).ToString("O");

        var refused = await h.IngestAsync(new JsonObject { ["name"] = "x", ["external_customer_id"] = "u", ["timestamp"] = future });
        var accepted = await h.IngestAsync(new JsonObject { ["name"] = "x", ["external_customer_id"] = "u", ["timestamp"] = past });

        Assert.Equal(422, refused.Status);
        var errors = Usage.Detail(refused)!.AsArray();
        var last = errors[^1]!;
        Assert.Equal("[\"body\",\"events\",0,\"EventCreateExternalCustomer\",\"timestamp\"]", last["loc"]!.ToJsonString());
        Assert.Equal("value_error", (string?)last["type"]);
        Assert.Equal("Value error, Timestamp must be in the past.", (string?)last["msg"]);
        Assert.Equal(200, accepted.Status);
        Assert.Single(h.Emulator.IngestedEvents);
    }

    [Fact]
    public async Task Metadata_values_must_be_short_strings_numbers_or_booleans_and_each_union_member_says_so()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.IngestAsync(new JsonObject
        {
            ["name"] = "x",
            ["external_customer_id"] = "u",
            ["metadata"] = new JsonObject { ["a_key_longer_than_forty_characters_is_fine_here"] = 1, ["long"] = new string('v', 501), ["nested"] = new JsonObject() },
        });

        Assert.Equal(422, response.Status);
        var external = Usage.Detail(response)!.AsArray().Where(d => d!["loc"]![3]!.GetValue<string>() == "EventCreateExternalCustomer").ToList();
        Assert.Equal(
        [
            ("long/str", "string_too_long"), ("long/int", "int_parsing"), ("long/float", "float_parsing"), ("long/bool", "bool_parsing"),
            ("nested/str", "string_type"), ("nested/int", "int_type"), ("nested/float", "float_type"), ("nested/bool", "bool_type"),
        ], external.Select(d => ($"{d!["loc"]![5]}/{d["loc"]![6]}", (string)d["type"]!)));
        Assert.Equal("String should have at most 500 characters", (string?)external[0]!["msg"]);
        Assert.Empty(h.Emulator.IngestedEvents);
    }

    [Fact]
    public async Task The_structured_llm_and_cost_metadata_are_checked()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.IngestAsync(new JsonObject
        {
            ["name"] = "x",
            ["external_customer_id"] = "u",
            ["metadata"] = new JsonObject
            {
                ["_llm"] = new JsonObject { ["vendor"] = "openai", ["model"] = "gpt", ["input_tokens"] = 1, ["output_tokens"] = 2 },
                ["_cost"] = new JsonObject { ["amount"] = 12, ["currency"] = "eur" },
            },
        });

        Assert.Equal(422, response.Status);
        var external = Usage.Detail(response)!.AsArray().Where(d => d!["loc"]![3]!.GetValue<string>() == "EventCreateExternalCustomer").ToList();
        Assert.Equal(
        [
            ("[\"body\",\"events\",0,\"EventCreateExternalCustomer\",\"metadata\",\"_llm\",\"total_tokens\"]", "missing"),
            ("[\"body\",\"events\",0,\"EventCreateExternalCustomer\",\"metadata\",\"_cost\",\"currency\"]", "string_pattern_mismatch"),
        ], external.Select(d => (d!["loc"]!.ToJsonString(), (string)d["type"]!)));
    }

    [Fact]
    public async Task A_nul_character_is_refused_as_invalid_characters()
    {
        await using var h = await Harness.StartAsync();

        var response = await h.IngestAsync(new JsonObject { ["name"] = "a\u0000b", ["external_customer_id"] = "u" });

        Assert.Equal(422, response.Status);
        var external = Usage.Detail(response)!.AsArray().Single(d => d!["loc"]!.ToJsonString() == "[\"body\",\"events\",0,\"EventCreateExternalCustomer\",\"name\"]")!;
        Assert.Equal("Value error, This value contains invalid characters", (string?)external["msg"]);
    }

    [Fact]
    public async Task Service_checks_run_on_every_event_and_refuse_the_batch_as_PolarRequestValidationError()
    {
        await using var h = await Harness.StartAsync();
        var deleted = h.Emulator.CreateCustomer("gone@gmail.com");
        h.Emulator.DeleteCustomer(deleted.Id);
        var live = h.Emulator.CreateCustomer("live@gmail.com");
        var unknown = Guid.NewGuid().ToString();

        var response = await h.IngestAsync(
            new JsonObject { ["name"] = "x", ["customer_id"] = live.Id },
            new JsonObject { ["name"] = "x", ["customer_id"] = unknown },
            new JsonObject { ["name"] = "x", ["customer_id"] = deleted.Id },
            new JsonObject { ["name"] = "x", ["external_customer_id"] = "u", ["organization_id"] = h.Emulator.OrganizationId },
            new JsonObject { ["name"] = "x", ["customer_id"] = live.Id, ["member_id"] = unknown });

        Assert.Equal(422, response.Status);
        Assert.Equal("PolarRequestValidationError", response["error"]);
        Assert.Equal(
        [
            ("[\"body\",\"events\",1,\"customer_id\"]", "customer_id", "Customer not found.", unknown),
            ("[\"body\",\"events\",2,\"customer_id\"]", "customer_id", "Customer not found.", deleted.Id),
            ("[\"body\",\"events\",3,\"organization_id\"]", "organization_token", "Setting organization_id is disallowed when using an organization token.", h.Emulator.OrganizationId),
            ("[\"body\",\"events\",4,\"member_id\"]", "member_id", "Member not found.", unknown),
        ], Usage.Detail(response)!.AsArray().Select(d => (d!["loc"]!.ToJsonString(), (string)d["type"]!, (string)d["msg"]!, (string)d["input"]!)));
        Assert.Empty(h.Emulator.IngestedEvents);
    }

    [Fact]
    public async Task A_body_without_events_or_with_events_that_are_not_a_list_is_refused()
    {
        await using var h = await Harness.StartAsync();

        var missing = await h.Http.PostAsync("v1/events/ingest", "{}");
        var notList = await h.Http.PostAsync("v1/events/ingest", "{\"events\":{}}");

        Assert.Equal("[{\"type\":\"missing\",\"loc\":[\"body\",\"events\"],\"msg\":\"Field required\",\"input\":{}}]", Usage.Detail(missing)!.ToJsonString());
        Assert.Equal("[{\"type\":\"list_type\",\"loc\":[\"body\",\"events\"],\"msg\":\"Input should be a valid list\",\"input\":{}}]", Usage.Detail(notList)!.ToJsonString());
    }

    [Fact]
    public async Task Ingesting_needs_the_events_write_scope_and_has_no_trailing_slash()
    {
        await using var h = await Harness.StartAsync();
        using var reader = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["events:read"]));
        using var writer = new PolarHttp(h.Emulator, h.Emulator.CreateAccessToken(["events:write"]));
        var body = new JsonObject { ["events"] = new JsonArray(Usage.Summary("u", 1)) }.ToJsonString();

        Assert.Equal(403, (await reader.PostAsync("v1/events/ingest", body)).Status);
        Assert.Equal(307, (await writer.PostAsync("v1/events/ingest/", body)).Status);
        Assert.Equal(200, (await writer.PostAsync("v1/events/ingest", body)).Status);
        Assert.Single(h.Emulator.IngestedEvents);
    }
}
